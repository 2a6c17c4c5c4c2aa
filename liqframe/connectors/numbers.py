"""Venues that send prices and sizes as JSON numbers (Deribit, BitMEX, Bitfinex, Kraken v2).

A JSON number is decoded here with its text kept (``json`` with ``parse_float`` and
``parse_int`` returning the source text), so ``0.0015`` or ``7e-7`` reaches
:func:`liqframe.core.to_units` exactly as the venue printed it, never through a binary float.
Integers arrive as text too: ids and sequence numbers are turned into ``int`` by the
connector.
"""

import json
from decimal import Decimal

_decode = json.JSONDecoder(parse_float=str, parse_int=str).decode


def loads_exact(data):
    """Decode JSON ``data`` (str or UTF-8 bytes) with every number left as its source text."""
    return _decode(data if isinstance(data, str) else data.decode())


def decimal_places(text):
    """Decimal places a number's text needs once trailing zeros go: ``"4714.0"`` -> 0,
    ``"0.0015"`` -> 4, ``"7e-7"`` -> 7 (exponent forms included)."""
    exponent = Decimal(text).normalize().as_tuple().exponent
    return max(0, -exponent)
