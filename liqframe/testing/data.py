"""Locate the project's outside test data: the recordings and oracles in ``shared/data``,
and the copies of those the tests use, kept with them in ``tests/data``.

``shared/data`` sits next to the repository (``../shared/data``). ``LIQFRAME_SHARED_DATA``
points elsewhere; otherwise the working directory and its parents are searched. A missing file
fails the test, naming the path, so a missing data checkout is noticed rather than skipped.
"""

import os
from pathlib import Path

import pytest


def shared_data_root():
    """The ``shared/data`` folder, or None when it cannot be found."""
    configured = os.environ.get("LIQFRAME_SHARED_DATA")
    if configured:
        return Path(configured)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None


def shared_data(*parts):
    """The file ``shared/data/<parts>``; fails the calling test when it is not there."""
    root = shared_data_root()
    path = (root or Path("../shared/data")) / Path(*parts)
    if not path.exists():
        pytest.fail(f"outside test data {path} is missing: these tests need the project's "
                    "shared data folder next to the repository (../shared/data) or "
                    "LIQFRAME_SHARED_DATA pointing at it")
    return path


def recording_path(*parts):
    """A file the project's tests use: ``tests/data/<parts>`` of the checkout the tests run
    in (the working directory or one of its parents: a clean clone has every file its tests
    need), else ``shared/data/<parts>``. Looked up from the working directory, not from the
    liqframe package, which tox installs away from the checkout."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder / "tests" / "data" / Path(*parts)
        if candidate.exists():
            return candidate
    return shared_data(*parts)
