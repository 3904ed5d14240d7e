"""Molecular dynamics with LAMMPS: SHIK melt-quench reference data and relaxation.

- :mod:`core.md.shik`: the SHIK potential, tabulated for ``pair_style table``
- :mod:`core.md.lammps_run`: LAMMPS from Python (melt, quench, :func:`relax`)
- :mod:`core.md.plan` / :mod:`core.md.generate`: the resumable reference-data job,
  ``python -m core.md generate`` (see the README)

Importing this package does not load LAMMPS; the first simulation does.
"""

from __future__ import annotations


def relax(atoms, **kwargs):
    """Minimise ``atoms`` with SHIK (see :func:`core.md.lammps_run.relax`)."""
    from core.md.lammps_run import relax as _relax

    return _relax(atoms, **kwargs)
