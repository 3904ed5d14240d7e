"""Chemistry input handling: SMILES and structure files (:mod:`.molecules`), formulas and
oxide compositions (:mod:`.composition`).

Import the sub-modules directly; this package imports nothing so that ``import core.chem``
stays cheap (RDKit is loaded only by the functions that need it).
"""
