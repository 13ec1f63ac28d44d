"""Serving: the prediction API (`python -m <package>.serving`, or `make serve`)."""
