import os

import pytest

from core.data import module


@pytest.fixture
def prepared():
    """Return a function that skips (locally) or fails (under CI) when a dataset is not cached."""

    def need(name: str):
        mod = module(name)
        from core.data._store import is_prepared

        if not is_prepared(mod.INFO):
            msg = f"{name} is not prepared: run `python -m core.data prepare {name}`"
            if os.environ.get("CI"):
                pytest.fail(msg)
            pytest.skip(msg)
        return mod

    return need
