"""Metrics from every source the target offers, read into one model."""
