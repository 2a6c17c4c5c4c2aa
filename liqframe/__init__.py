"""liqframe: multi-venue crypto liquidity.

Consolidated books across venues, provably cheapest order routing, cross-venue matching,
market making and a capital layer, with venue connectors, strategies, risk models and
rebalancers as pluggy plugins. Start with :mod:`liqframe.core` (books, matcher, router),
:mod:`liqframe.model` (value types) and :mod:`liqframe.hookspecs` (the plugin hooks).
"""

from importlib import metadata

try:
    __version__ = metadata.version("liqframe")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
