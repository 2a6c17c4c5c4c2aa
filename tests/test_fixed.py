"""Fixed-point parsing: both twins, a Decimal oracle, and Hypothesis agreement."""

from decimal import Decimal, InvalidOperation, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liqframe import core
from liqframe.testing.twins import twin_modules

pytestmark = pytest.mark.parametrize("twin", twin_modules("fixed"), indirect=True)


@pytest.mark.parametrize(
    ("text", "decimals", "units"),
    [
        ("123.45", 2, 12345),
        ("0.00001", 5, 1),
        ("7e-7", 8, 70),  # JavaScript prints small Bitfinex sizes in exponent form
        ("1.5E+3", 0, 1500),
        (".5", 1, 5),
        ("1.", 0, 1),
        ("-0.050", 2, -5),
        ("+3", 0, 3),
        ("000.000", 3, 0),
        ("92233720368547758.07", 2, 2**63 - 1),
        (b"61512.1", 1, 615121),
    ],
)
def test_parses(twin, text, decimals, units):
    assert twin.to_units(text, decimals) == units


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is not a decimal number"),
        ("nan", "is not a decimal number"),
        ("inf", "is not a decimal number"),
        (" 1", "is not a decimal number"),
        ("1.2.3", "is not a decimal number"),
        ("1e", "is not a decimal number"),
        ("0x10", "is not a decimal number"),
        ("١", "is not a decimal number"),  # a non-ASCII digit
        ("1.001", "more than 2 decimal places"),
        ("1e-400", "more than 2 decimal places"),
        ("92233720368547758.08", "out of the 64-bit range"),
        ("1e400", "out of the 64-bit range"),
    ],
)
def test_rejects_with_the_value_named(twin, text, message):
    with pytest.raises(ValueError, match=message) as info:
        twin.to_units(text, 2)
    assert repr(text) in str(info.value)


def test_rejects_non_strings_and_bad_decimals(twin):
    with pytest.raises(TypeError, match="float"):
        twin.to_units(1.5, 2)
    with pytest.raises(ValueError, match="decimals"):
        twin.to_units("1", 19)


@pytest.mark.parametrize(("units", "decimals", "text"),
                         [(12345, 2, "123.45"), (-5, 2, "-0.05"), (7, 0, "7"), (0, 3, "0.000")])
def test_formats(twin, units, decimals, text):
    assert twin.from_units(units, decimals) == text


decimal_text = st.from_regex(
    r"\A[+-]?([0-9]{0,22}(\.[0-9]{0,22})?|\.[0-9]{1,22})([eE][+-]?[0-9]{1,3})?\Z")


def decimal_oracle(text, decimals):
    """Python's Decimal, an implementation independent of both twins."""
    try:
        value = Decimal(text.strip() if text == text.strip() else "x")
    except InvalidOperation:
        return "not a decimal"
    if not value.is_finite() or not text or text.lstrip("+-")[:1] not in set("0123456789."):
        return "not a decimal"
    with localcontext() as context:  # the default 28 digits would round long inputs
        context.prec = 200
        scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return "decimal places"
    if abs(scaled) > 2**63 - 1:
        return "range"
    return int(scaled)


def outcome(module, text, decimals):
    try:
        return module.to_units(text, decimals)
    except ValueError as error:
        message = str(error)
        return ("not a decimal" if "not a decimal" in message
                else "range" if "64-bit range" in message else "decimal places")


@given(text=decimal_text | st.text(max_size=8), decimals=st.integers(0, 18))
def test_agrees_with_decimal_oracle_and_other_twin(twin, text, decimals):
    result = outcome(twin, text, decimals)
    assert result == outcome(core.load("fixed", compiled=False), text, decimals)
    expected = decimal_oracle(text, decimals)
    # Decimal accepts a few spellings the venues never send ("Infinity", "1_0"); on those
    # only the twins' agreement is checked.
    if expected != "not a decimal" or result == "not a decimal":
        assert result == expected


@given(units=st.integers(-(2**63) + 1, 2**63 - 1), decimals=st.integers(0, 18))
def test_round_trip(twin, units, decimals):
    assert twin.to_units(twin.from_units(units, decimals), decimals) == units
