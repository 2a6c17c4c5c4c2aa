"""Finding plugins and the factories they register.

:func:`get_plugin_manager` builds a fresh pluggy manager each time it is called (importing
this module does nothing): the built-in plugins first, then the entry points of group
``liqframe``, then local plugin modules named by the caller. A plugin that fails to import,
implements a hook that does not exist, or registers a name that another plugin already took is
recorded rather than raised: :meth:`Registry.resolve` raises for it only when the configuration
uses it, and :attr:`Registry.warnings` reports it otherwise, so one broken plugin never stops a
host that does not need it.

Environment switches: ``LIQFRAME_DISABLE_PLUGIN_AUTOLOAD=1`` skips entry points (only built-ins
and local plugins load); ``LIQFRAME_TRACE_PLUGINS=1`` traces every hook call to stderr.
"""

import importlib
import os
import sys
from collections.abc import Iterable, Mapping
from importlib import metadata

import attrs
import pluggy

from liqframe import hookspecs
from liqframe.errors import ConfigError, PluginError

#: Built-in policies, registered exactly like external plugins.
DEFAULT_PLUGINS = (
    "liqframe.builtin.transports",
    "liqframe.builtin.risk",
)


def _flag(name):
    return os.environ.get(name, "") not in ("", "0")


@attrs.frozen(kw_only=True)
class Registration:
    """One factory: its kind and name, and the plugin and distribution it came from."""

    kind: str
    name: str
    factory: object = attrs.field(eq=False, repr=False)
    plugin: str
    distribution: str


@attrs.frozen(kw_only=True)
class BrokenPlugin:
    """A plugin that could not be used, and why."""

    plugin: str
    distribution: str
    version: str
    problem: str

    def describe(self):
        return f"plugin {self.plugin!r} from distribution {self.distribution!r}: {self.problem}"


class PluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers each plugin's distribution and the broken ones."""

    def __init__(self):
        super().__init__(hookspecs.PROJECT)
        self.add_hookspecs(hookspecs)
        self.distributions = {}  # plugin name -> (distribution, version)
        self.broken = []

    def add(self, plugin, name, distribution, version):
        """Register ``plugin``, or record it as broken when pluggy or our checks refuse it."""
        unknown = sorted(
            attr for attr in dir(plugin)
            if attr.startswith("liqframe_") and not hasattr(self.hook, attr)
        )
        if unknown:
            return self._broke(name, distribution, version,
                               f"implements unknown hook(s) {', '.join(unknown)}")
        try:
            self.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as error:
            return self._broke(name, distribution, version, str(error))
        self.distributions[name] = (distribution, version)
        self.trace("registered", name, "from", distribution, version)

    def _broke(self, name, distribution, version, problem):
        self.trace("broken", name, "from", distribution, version, ":", problem)
        self.broken.append(BrokenPlugin(plugin=name, distribution=distribution,
                                        version=version, problem=problem))


def _liqframe_version():
    try:
        return metadata.version("liqframe")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def get_plugin_manager(*, local: Iterable[str | object] = (), autoload: bool | None = None):
    """Build a plugin manager: built-ins, then entry points, then ``local``.

    ``local`` holds module names (imported here) or plugin objects. ``autoload`` overrides
    ``LIQFRAME_DISABLE_PLUGIN_AUTOLOAD``.
    """
    pm = PluginManager()
    if _flag("LIQFRAME_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda message: sys.stderr.write(f"[liqframe plugins] {message}"))
        pm.enable_tracing()
    version = _liqframe_version()
    for module_name in DEFAULT_PLUGINS:
        pm.add(importlib.import_module(module_name), module_name, "liqframe", version)
    if autoload is None:
        autoload = not _flag("LIQFRAME_DISABLE_PLUGIN_AUTOLOAD")
    if autoload:
        _load_entry_points(pm)
    for item in local:
        _load_local(pm, item)
    return pm


def _load_entry_points(pm):
    seen = set()
    for entry_point in metadata.entry_points(group=hookspecs.PROJECT):
        dist = entry_point.dist
        distribution = dist.name if dist else "unknown"
        version = dist.version if dist else "unknown"
        key = (distribution, entry_point.name)
        if key in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(key)
        try:
            plugin = entry_point.load()
        except Exception as error:  # any failure in third-party import code is the plugin's
            pm._broke(entry_point.name, distribution, version,
                      f"failed to import {entry_point.value!r}: {type(error).__name__}: {error}")
            continue
        pm.add(plugin, entry_point.name, distribution, version)


def _load_local(pm, item):
    if isinstance(item, str):
        try:
            plugin = importlib.import_module(item)
        except Exception as error:
            pm._broke(item, "local", "", f"failed to import: {type(error).__name__}: {error}")
            return
        pm.add(plugin, item, "local", "")
    else:
        pm.add(item, getattr(item, "__name__", repr(item)), "local", "")


@attrs.define
class Registry:
    """Every factory the plugins registered, by kind and name, with conflicts and breakage."""

    registrations: dict = attrs.field(factory=lambda: {kind: {} for kind in hookspecs.KIND_HOOKS})
    conflicts: dict = attrs.field(factory=dict)  # (kind, name) -> [Registration, ...]
    broken: list = attrs.field(factory=list)

    @classmethod
    def collect(cls, pm: PluginManager) -> "Registry":
        """Call each registration hook of each plugin once, attributing every name."""
        registry = cls(broken=list(pm.broken))
        for kind, hook_name in hookspecs.KIND_HOOKS.items():
            for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
                registry._collect_one(pm, kind, hook_name, impl)
        pm.check_pending()  # every unknown hook was refused by PluginManager.add
        return registry

    def _collect_one(self, pm, kind, hook_name, impl):
        distribution, version = pm.distributions.get(impl.plugin_name, ("unknown", ""))
        try:
            mapping = impl.function()
            if not isinstance(mapping, Mapping):
                raise TypeError(f"returned {type(mapping).__name__}, expected a mapping of "
                                "names to factories")
            for name, factory in mapping.items():
                if not isinstance(name, str) or not callable(factory):
                    raise TypeError(f"entry {name!r} is not a name with a callable factory")
        except Exception as error:
            self.broken.append(BrokenPlugin(plugin=impl.plugin_name, distribution=distribution,
                                            version=version,
                                            problem=f"{hook_name}() failed: {error}"))
            return
        pm.trace(hook_name, impl.plugin_name, "->", sorted(mapping))
        for name, factory in mapping.items():
            entry = Registration(kind=kind, name=name, factory=factory,
                                 plugin=impl.plugin_name, distribution=distribution)
            taken = self.registrations[kind].get(name)
            if taken is None:
                self.registrations[kind][name] = entry
            else:
                self.conflicts.setdefault((kind, name), [taken]).append(entry)

    def names(self, kind):
        return sorted(self.registrations[kind])

    def resolve(self, kind: str, name: str, field: str):
        """The factory registered as ``name`` for ``kind``; ``field`` names the config entry.

        Raises :class:`PluginError` when ``name`` is taken by several plugins or belongs to a
        broken plugin, and :class:`ConfigError` listing what is installed when it is unknown.
        """
        if (kind, name) in self.conflicts:
            owners = ", ".join(f"plugin {r.plugin!r} from {r.distribution!r}"
                               for r in self.conflicts[(kind, name)])
            raise PluginError(f"{field}: {kind} {name!r} is registered by several plugins "
                              f"({owners}); uninstall all but one of them")
        if name in self.registrations[kind]:
            return self.registrations[kind][name].factory
        for broken in self.broken:
            if name in (broken.plugin, broken.distribution,
                        broken.distribution.removeprefix("liqframe-")):
                raise PluginError(f"{field}: {kind} {name!r} is unavailable because "
                                  f"{broken.describe()}; fix or reinstall that distribution")
        installed = self.names(kind)
        fix = (f"use one of the installed ones ({', '.join(installed)}) or install the plugin "
               "that provides it" if installed else
               f"no {kind} plugin is installed: install one (`liqframe plugins` lists them)")
        hint = ""
        if self.broken:
            hint = ". These plugins failed to load and may provide it: " + "; ".join(
                b.describe() for b in self.broken)
        raise ConfigError(f"{field}: unknown {kind} {name!r}; {fix}{hint}")

    @property
    def warnings(self) -> list[str]:
        """Problems that do not stop a host which does not use the plugins involved."""
        notes = [b.describe() for b in self.broken]
        for (kind, name), entries in sorted(self.conflicts.items()):
            owners = ", ".join(f"{e.plugin!r} ({e.distribution})" for e in entries)
            notes.append(f"{kind} {name!r} is registered by several plugins: {owners}")
        return notes


def describe_plugins(pm: PluginManager, registry: Registry) -> list[dict]:
    """One record per plugin, for ``liqframe plugins``: name, distribution, version, the names
    it registers by kind, and its problem when broken."""
    registered = {}
    for entries in registry.registrations.values():
        for entry in entries.values():
            registered.setdefault(entry.plugin, {}).setdefault(entry.kind, []).append(entry.name)
    for entries in registry.conflicts.values():
        for entry in entries[1:]:
            registered.setdefault(entry.plugin, {}).setdefault(entry.kind, []).append(entry.name)
    records = {}
    for name, (distribution, version) in pm.distributions.items():
        kinds = {kind: sorted(names) for kind, names in sorted(registered.get(name, {}).items())}
        records[name] = {"name": name, "distribution": distribution, "version": version,
                         "kinds": kinds, "problem": None}
    for broken in registry.broken:
        record = records.setdefault(broken.plugin, {
            "name": broken.plugin, "distribution": broken.distribution,
            "version": broken.version, "kinds": {}, "problem": None})
        record["problem"] = broken.problem
    return list(records.values())
