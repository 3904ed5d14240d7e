"""Interactive 3D views (3Dmol.js through py3Dmol) as HTML for a page to embed.

The 3Dmol.js script is served by the app itself (``static/3dmol``), so the views work
offline; each view is as wide as the element it is embedded in.
"""

from __future__ import annotations

import io

JS = "/app/static/3dmol/3Dmol-min.js"


def molecule_html(molblock: str, height: int = 360) -> str:
    """Balls and sticks of one molecule given as a 3D mol block."""
    import py3Dmol

    view = py3Dmol.view(width="100%", height=height, js=JS)
    view.addModel(molblock, "mol")
    view.setStyle({"stick": {"radius": 0.16}, "sphere": {"scale": 0.23}})
    view.setBackgroundColor("white")
    view.zoomTo()
    return view._make_html()


def periodic_structure_html(atoms, height: int = 460) -> str:
    """A periodic structure (``ase.Atoms``) wrapped into its cell, drawn with the cell."""
    import py3Dmol
    from ase.io import write

    wrapped = atoms.copy()
    wrapped.wrap()
    wrapped.info = {}
    buf = io.BytesIO()
    write(buf, wrapped, format="cif")  # the CIF carries the cell
    view = py3Dmol.view(width="100%", height=height, js=JS)
    view.addModel(buf.getvalue().decode(), "cif")
    view.setStyle(
        {
            "sphere": {"scale": 0.28, "colorscheme": "Jmol"},
            "stick": {"radius": 0.12, "colorscheme": "Jmol"},
        }
    )
    view.addUnitCell()
    view.setBackgroundColor("white")
    view.zoomTo()
    return view._make_html()
