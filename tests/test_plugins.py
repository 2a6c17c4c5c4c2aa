"""The plugin manager: load order, entry points, broken plugins, name conflicts, switches."""

import os
import subprocess
import sys

import pytest

from liqframe.builtin.transports import InProcessTransport
from liqframe.errors import ConfigError, PluginError
from liqframe.plugins import DEFAULT_PLUGINS, Registry, describe_plugins, get_plugin_manager
from liqframe.testing.dists import install_fake_dist

GOOD = """
from liqframe.hookspecs import hookimpl

class Venue:
    def __init__(self, *, venue, instruments):
        self.venue = venue

@hookimpl
def liqframe_venue_connectors():
    return {"goodvenue": Venue}
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("LIQFRAME_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return tmp_path


def registry_of(**kwargs):
    pm = get_plugin_manager(**kwargs)
    return pm, Registry.collect(pm)


def test_importing_has_no_side_effects():
    code = ("import sys, liqframe.plugins; "
            "print(any(m.startswith('liqframe.builtin.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_builtins_are_ordinary_plugins():
    pm, registry = registry_of(autoload=False)
    assert [name for name, _ in pm.list_name_plugin()][: len(DEFAULT_PLUGINS)] == list(
        DEFAULT_PLUGINS)
    assert registry.resolve("transport", "inprocess", "transport.plugin") is InProcessTransport
    assert registry.names("risk") == ["limits"]


def test_entry_point_plugins_load_after_builtins_and_before_local(site):
    install_fake_dist(site, "liqframe-goodvenue", {"goodvenue_mod": GOOD},
                      {"goodvenue": "goodvenue_mod"}, version="2.3")
    local = type("Local", (), {})()
    pm, registry = registry_of(local=[local])
    names = [name for name, _ in pm.list_name_plugin()]
    assert names.index("liqframe.builtin.risk") < names.index("goodvenue") < len(names) - 1
    assert pm.distributions["goodvenue"] == ("liqframe-goodvenue", "2.3")
    assert registry.resolve("venue", "goodvenue", "venues[0].connector").__name__ == "Venue"
    [record] = [r for r in describe_plugins(pm, registry) if r["name"] == "goodvenue"]
    assert record == {"name": "goodvenue", "distribution": "liqframe-goodvenue",
                      "version": "2.3", "kinds": {"venue": ["goodvenue"]}, "problem": None}


def test_autoload_switch_skips_entry_points(site, monkeypatch):
    install_fake_dist(site, "liqframe-goodvenue", {"goodvenue_mod": GOOD},
                      {"goodvenue": "goodvenue_mod"})
    monkeypatch.setenv("LIQFRAME_DISABLE_PLUGIN_AUTOLOAD", "1")
    _, registry = registry_of()
    assert registry.names("venue") == []
    _, registry = registry_of(local=["goodvenue_mod"])  # local plugins still load
    assert registry.names("venue") == ["goodvenue"]


def test_import_failure_is_a_warning_until_configured(site):
    install_fake_dist(site, "liqframe-brokenvenue",
                      {"brokenvenue_mod": "raise RuntimeError('missing API key module')"},
                      {"brokenvenue": "brokenvenue_mod"})
    pm, registry = registry_of()
    [warning] = registry.warnings
    assert "brokenvenue" in warning and "liqframe-brokenvenue" in warning
    assert "missing API key module" in warning
    with pytest.raises(PluginError) as info:
        registry.resolve("venue", "brokenvenue", "venues[0].connector")
    message = str(info.value)
    for part in ("venues[0].connector", "liqframe-brokenvenue", "'brokenvenue'",
                 "RuntimeError: missing API key module"):
        assert part in message
    # a healthy name still resolves: the host starts when the broken plugin is not used
    assert registry.resolve("transport", "inprocess", "transport.plugin")
    assert any(r["problem"] for r in describe_plugins(pm, registry))


def test_unknown_hook_makes_the_plugin_broken(site):
    installed = registry_of()[1].names("venue")  # first-party plugins may be installed
    source = GOOD + "\n@hookimpl\ndef liqframe_venue_conectors():\n    return {}\n"
    install_fake_dist(site, "liqframe-typo", {"typo_mod": source}, {"typo": "typo_mod"})
    _, registry = registry_of()
    assert "goodvenue" not in registry.names("venue")
    assert registry.names("venue") == installed
    with pytest.raises(PluginError, match="liqframe_venue_conectors"):
        registry.resolve("venue", "typo", "venues[0].connector")


def test_hook_with_wrong_arguments_is_broken(site):
    source = ("from liqframe.hookspecs import hookimpl\n"
              "@hookimpl\ndef liqframe_risk_models(config):\n    return {}\n")
    install_fake_dist(site, "liqframe-badargs", {"badargs_mod": source}, {"badargs": "badargs_mod"})
    _, registry = registry_of()
    [warning] = [w for w in registry.warnings if "liqframe-badargs" in w]
    assert "liqframe-badargs" in warning and "config" in warning


def test_hook_returning_garbage_is_broken(site):
    installed = registry_of()[1].names("risk")
    source = ("from liqframe.hookspecs import hookimpl\n"
              "@hookimpl\ndef liqframe_risk_models():\n    return ['limits']\n")
    install_fake_dist(site, "liqframe-garbage", {"garbage_mod": source}, {"garbage": "garbage_mod"})
    _, registry = registry_of()
    [warning] = [w for w in registry.warnings if "liqframe-garbage" in w]
    assert "expected a mapping" in warning
    assert registry.names("risk") == installed


def test_duplicate_names_fail_only_when_configured(site):
    source = ("from liqframe.hookspecs import hookimpl\n"
              "class Other:\n    pass\n"
              "@hookimpl\ndef liqframe_risk_models():\n    return {'limits': Other}\n")
    install_fake_dist(site, "liqframe-limits2", {"limits2_mod": source}, {"limits2": "limits2_mod"})
    _, registry = registry_of()
    [warning] = registry.warnings
    assert "'limits'" in warning and "liqframe-limits2" in warning and "liqframe)" in warning
    with pytest.raises(PluginError) as info:
        registry.resolve("risk", "limits", "risk[0].plugin")
    assert "risk[0].plugin" in str(info.value) and "liqframe-limits2" in str(info.value)


def test_unknown_name_lists_what_is_installed():
    _, registry = registry_of(autoload=False)
    with pytest.raises(ConfigError) as info:
        registry.resolve("risk", "limitz", "risk[0].plugin")
    assert "risk[0].plugin" in str(info.value) and "limits" in str(info.value)
    with pytest.raises(ConfigError, match="no venue plugin is installed"):
        registry.resolve("venue", "binance", "venues[0].connector")


def test_trace_switch_writes_hook_calls_to_stderr(tmp_path):
    code = ("from liqframe.plugins import get_plugin_manager, Registry; "
            "Registry.collect(get_plugin_manager(autoload=False))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "LIQFRAME_TRACE_PLUGINS": "1"})
    assert "registered liqframe.builtin.risk from liqframe" in out.stderr
    assert "liqframe_risk_models liqframe.builtin.risk -> ['limits']" in out.stderr
