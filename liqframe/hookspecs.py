"""Every hook a liqframe plugin can implement.

A plugin is a module or object with functions named like the hooks below, marked with
:data:`hookimpl`, found through the ``liqframe`` entry-point group. Each registration hook
returns a mapping of names to factories; the configuration refers to a factory by its name, and
the host calls the factory with the options the configuration gives it. Hooks run once, at
start-up: on the hot path the host calls the objects directly, never through pluggy.

The object each factory returns is described by the protocols in :mod:`liqframe.interfaces`.
"""

from collections.abc import Callable, Mapping
from typing import Any

import pluggy

#: The pluggy project name, and the entry-point group plugins register under.
PROJECT = "liqframe"

hookspec = pluggy.HookspecMarker(PROJECT)
#: Marker for hook implementations: ``@hookimpl def liqframe_venue_connectors(): ...``
hookimpl = pluggy.HookimplMarker(PROJECT)

Factories = Mapping[str, Callable[..., Any]]


@hookspec
def liqframe_venue_connectors() -> Factories:
    """Register venue connectors.

    Return ``{name: factory}``. The host calls ``factory(venue=..., instruments=...,
    **options)`` for each configured venue whose ``connector`` is ``name``; the result follows
    :class:`liqframe.interfaces.VenueConnector`: it connects, streams book deltas and trades,
    places and cancels orders, and reports balances, fees and transfers.
    """


@hookspec
def liqframe_quoting_strategies() -> Factories:
    """Register quoting strategies.

    Return ``{name: factory}``. The host calls ``factory(**options)`` for each configured
    strategy whose ``plugin`` is ``name``; the result follows
    :class:`liqframe.interfaces.QuotingStrategy`: from the state (books, inventory, volatility)
    it produces the quotes it wants resting on each venue.
    """


@hookspec
def liqframe_risk_models() -> Factories:
    """Register risk models.

    Return ``{name: factory}``. The host calls ``factory(**options)`` for each configured risk
    model; the result follows :class:`liqframe.interfaces.RiskModel`: it adjusts sizes and venue
    weights, vetoes orders, and can trip the kill switch.
    """


@hookspec
def liqframe_rebalancers() -> Factories:
    """Register rebalancers.

    Return ``{name: factory}``. The host calls ``factory(**options)`` for the configured
    rebalancer; the result follows :class:`liqframe.interfaces.Rebalancer`: it plans transfers
    of assets between venues and the collateral pool.
    """


@hookspec
def liqframe_transports() -> Factories:
    """Register transports.

    Return ``{name: factory}``. The host calls ``factory(**options)`` for the configured
    transport; the result follows :class:`liqframe.interfaces.Transport`: it carries events
    between nodes (in-process by default; a message bus such as NATS for several hosts).
    """


#: The registration hooks, keyed by the plugin kind they register.
KIND_HOOKS = {
    "venue": "liqframe_venue_connectors",
    "strategy": "liqframe_quoting_strategies",
    "risk": "liqframe_risk_models",
    "rebalancer": "liqframe_rebalancers",
    "transport": "liqframe_transports",
}
