"""Helpers for worker processes started with ``spawn``."""

from __future__ import annotations

import contextlib
import os
import sys
import types


@contextlib.contextmanager
def hide_borrowed_main():
    """Spawned workers import the parent's ``__main__`` from its file. Under Streamlit (an
    app page, an AppTest) that module is a page the script runner installed, and importing
    it in a worker runs the page there (or kills the worker, which a ``Pool`` then restarts
    for ever); hide such a borrowed main (no import spec, not the program this process
    runs) while the workers start. A program's own main stays visible, so a factory defined
    in it still reaches the workers."""
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    program = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    borrowed = (
        main is not None
        and getattr(main, "__spec__", None) is None
        and path is not None
        and os.path.abspath(path) != program
    )
    if borrowed:
        sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if borrowed:
            sys.modules["__main__"] = main
