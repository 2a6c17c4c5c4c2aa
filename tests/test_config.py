"""Configuration: defaults, strict fields, cross references, and errors that name the field."""

from decimal import Decimal

import pytest

from liqframe import config
from liqframe.errors import ConfigError
from liqframe.host import build_components
from liqframe.plugins import Registry, get_plugin_manager

INSTRUMENT = """
[[instruments]]
symbol = "BTC/USDT"
base = "BTC"
quote = "USDT"
price_increment = "0.01"
size_increment = "0.00001"
"""


def test_embedded_default_loads_and_builds():
    cfg, text = config.load()
    assert "[[instruments]]" in text
    # four simulated venues: two BTC/USDT, one BTC/USD, one BTC/EUR (issue 6)
    assert [i.symbol for i in cfg.instruments] == ["BTC/USDT", "BTC/USD", "BTC/EUR"]
    assert cfg.instruments[0].price_increment == Decimal("0.01")
    assert [(v.connector, v.instruments) for v in cfg.venues] == [
        ("simvenue", ["BTC/USDT"]), ("simvenue", ["BTC/USDT"]), ("simvenue", ["BTC/USD"]),
        ("simvenue", ["BTC/EUR"])]
    assert cfg.store.path == "liqframe.db" and cfg.transport.plugin == "inprocess"
    components = build_components(cfg, Registry.collect(get_plugin_manager()))
    assert sorted(components.venues) == ["sim-a", "sim-b", "sim-c", "sim-d"]
    assert components.risk[0].max_order_lots > 0


@pytest.mark.parametrize(("toml", "expected"), [
    ("venuse = []", "venuse: unknown field; did you mean 'venues'?"),
    ("[web]\nprot = 1", "web.prot: unknown field; did you mean 'port'?"),
    ("[web]\nport = 70000", "web.port: 70000 must be between 0 and 65535"),
    ("[web]\nport = '80'", "web.port: expected an integer"),
    ("[store]\npath = ''", "store.path: expected a non-empty string"),
    (INSTRUMENT.replace('"0.01"', "0.01"),
     'instruments[0].price_increment: write decimals as strings to keep them exact, '
     'e.g. price_increment = "0.01"'),
    (INSTRUMENT.replace('"0.01"', '"0"'), "instruments[0].price_increment: must be positive"),
    (INSTRUMENT.replace('"0.01"', '"abc"'), "instruments[0].price_increment: 'abc' is not"),
    (INSTRUMENT + INSTRUMENT, "instruments[1].symbol: 'BTC/USDT' is used twice"),
    ("[[venues]]\nname = 'a'\ninstruments = []", "venues[0].connector: required field"),
    ("[[venues]]\nname='a'\nconnector='x'\ninstruments=['ETH/USD']",
     "venues[0].instruments[0]: unknown instrument 'ETH/USD'; add an [[instruments]] table"),
    (INSTRUMENT + "[[strategies]]\nname='s'\nplugin='p'\ninstrument='BTC/USDT'\nvenues=['z']",
     "strategies[0].venues[0]: unknown venue 'z'"),
    ("[[risk]]\noptions = {}", "risk[0].plugin: required field"),
    ("venues = 3", "venues: expected an array of tables"),
    ("[transport", "not valid TOML"),
])
def test_bad_config_names_the_field(toml, expected):
    with pytest.raises(ConfigError) as info:
        config.parse(toml, "my.toml")
    assert str(info.value).startswith("my.toml: ")
    assert expected in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the config file"):
        config.load(tmp_path / "nope.toml")


def build(toml):
    cfg = config.parse(INSTRUMENT + toml)
    return build_components(cfg, Registry.collect(get_plugin_manager(autoload=False)))


def test_unknown_plugin_lists_installed():
    with pytest.raises(ConfigError) as info:
        build("[[risk]]\nplugin = 'limitz'")
    assert "risk[0].plugin: unknown risk 'limitz'" in str(info.value)
    assert "limits" in str(info.value)


def test_bad_plugin_options_name_the_field_and_the_accepted_ones():
    with pytest.raises(ConfigError) as info:
        build("[[risk]]\nplugin = 'limits'\noptions = { max_order_lot = 5 }")
    assert "risk[0].options" in str(info.value) and "accepted: max_order_lots" in str(info.value)
    with pytest.raises(ConfigError, match=r"risk\[0\].options: .*max_order_lots: -5"):
        build("[[risk]]\nplugin = 'limits'\noptions = { max_order_lots = -5 }")


def test_every_field_is_documented_in_code():
    for path, field in config.iter_fields():
        assert field.metadata.get("doc"), f"config field {path} has no doc"
