"""Raw data: reading it, typing its columns (the schema), splitting rows."""
