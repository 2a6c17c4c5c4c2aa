"""Pytest fixtures for liqframe plugins, registered through the ``pytest11`` entry point.

``liqframe_plugin_manager`` and ``liqframe_registry`` build isolated plugin managers: built-in
plugins plus the local ones a test names, without the entry points installed in the
environment, so a test sees exactly the plugins it asked for.
"""

import pytest

from liqframe.model import Instrument
from liqframe.plugins import Registry, get_plugin_manager
from liqframe.testing.twins import resolve_twin


@pytest.fixture
def twin(request):
    """The core module of a :func:`liqframe.testing.twins.twin_modules` parameter."""
    return resolve_twin(request.param)


@pytest.fixture
def liqframe_plugin_manager():
    """Factory: ``liqframe_plugin_manager(local=[...], autoload=False)`` -> PluginManager."""

    def make(local=(), autoload=False):
        return get_plugin_manager(local=local, autoload=autoload)

    return make


@pytest.fixture
def liqframe_registry(liqframe_plugin_manager):
    """Factory: ``liqframe_registry(local=[...])`` -> the Registry of those plugins."""

    def make(local=(), autoload=False):
        return Registry.collect(liqframe_plugin_manager(local=local, autoload=autoload))

    return make


@pytest.fixture
def liqframe_instrument():
    """BTC/USDT with a 0.01 tick and a 0.00001 lot, as on most spot venues."""
    return Instrument(base="BTC", quote="USDT", price_increment="0.01", size_increment="0.00001")


@pytest.fixture
def liqframe_book_levels():
    """A small two-sided book in ticks and lots: ``{"bids": [(price, size)...], "asks": ...}``,
    best first, five levels a side one tick apart around a 1-tick spread."""
    return {
        "bids": [(10_000 - i, 100 * (i + 1)) for i in range(5)],
        "asks": [(10_001 + i, 100 * (i + 1)) for i in range(5)],
    }


@pytest.fixture
def liqframe_l2book(liqframe_book_levels):
    """A :class:`liqframe.core.L2Book` (the build :mod:`liqframe.core` selected) holding
    ``liqframe_book_levels``."""
    import numpy as np

    from liqframe import core

    book = core.L2Book()
    bids, asks = liqframe_book_levels["bids"], liqframe_book_levels["asks"]
    book.apply_snapshot(*(np.array(column, dtype=np.int64)
                          for levels in (bids, asks) for column in zip(*levels)))
    return book
