"""Materials Design Studio core: data, chemistry parsing, models, optimisation, generation.

`core` never imports streamlit: everything a page can do, a script can do with the same call.
"""

__version__ = "0.1.0"
