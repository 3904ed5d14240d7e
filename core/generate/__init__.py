"""Generators: conditional molecules (:mod:`core.generate.molecules`) and glass structures.

Import-light on purpose: nothing heavy (torch, RDKit) is imported until a submodule is.
"""
