"""Predictions from the trained model: which model, what a record may hold, scoring, batches."""
