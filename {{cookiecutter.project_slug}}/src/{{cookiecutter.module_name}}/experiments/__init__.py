"""Hyper-parameter sweeps as DVC experiments, and their comparison."""
