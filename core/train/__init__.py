"""Reproducible training: `python -m core.train.<model>` writes trained_models/<name>/."""
