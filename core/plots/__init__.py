"""Plotly figures built from results, reports and model cards: one module per capability.

Pure functions ``DataFrame/report -> plotly.graph_objects.Figure``; no streamlit here, so a
script or notebook gets the same charts the pages show (``fig.show()``/``write_html``).
"""
