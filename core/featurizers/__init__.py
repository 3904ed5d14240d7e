"""Featurizers: molecules -> graph tensors, compositions -> set tensors."""
