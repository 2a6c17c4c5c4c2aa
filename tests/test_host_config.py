"""Host configuration: the example files and the [host] section."""

from pathlib import Path

import pytest

from liqframe import config as config_module
from liqframe.errors import ConfigError
from liqframe.host import build_components
from liqframe.plugins import Registry, get_plugin_manager

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted((REPO / "examples").glob("*.toml")),
                         ids=lambda p: p.name)
def test_examples_build(path):
    cfg, _ = config_module.load(path)
    components = build_components(cfg, Registry.collect(get_plugin_manager()))
    assert components.venues and components.strategies


def test_example_is_the_default():
    example = (REPO / "examples" / "four-venues.toml").read_text()
    default = config_module.load()[1]
    assert config_module.parse(example) == config_module.parse(default)


@pytest.mark.parametrize(("toml", "message"), [
    ("[host]\ntick_ms = 0", "host.tick_ms: 0 must be a positive integer"),
    ("[host]\nmax_lag_ms = -1", "host.max_lag_ms: -1 must not be negative"),
    ("[host]\ntick = 5", "host.tick: unknown field; did you mean 'tick_ms'?"),
    ("[host]\nrealtime_priority = 100", "host.realtime_priority: 100 is not 0 .normal "
     "scheduling. or a real-time priority from 1 to 99"),
    ("[host]\nrealtime_priority = -1", "host.realtime_priority: -1 is not 0"),
])
def test_host_section_checked(toml, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?")):
        config_module.parse(toml)
