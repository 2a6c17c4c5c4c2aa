"""The host's configuration: a TOML file, checked field by field before anything starts.

Every field is declared once, below, with its type, default and documentation; the loader
rejects unknown fields (suggesting the closest valid one), the reference docs are checked
against these declarations, and every error names the field's full path (``venues[1].name``)
and how to fix it.
"""

import difflib
import tomllib
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path

import attrs

from liqframe.errors import ConfigError


def setting(doc, kind, default=attrs.NOTHING, **kwargs):
    """Declare a config field: ``kind`` checks and converts the raw TOML value."""
    if isinstance(default, list | dict):
        return attrs.field(factory=lambda: type(default)(default),
                           metadata={"doc": doc, "kind": kind})
    return attrs.field(default=default, metadata={"doc": doc, "kind": kind}, **kwargs)


# Each kind takes (value, path) and returns the value to store, or raises ConfigError.

def text(value, path):
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: expected a non-empty string, got {value!r}")
    return value


def integer(value, path):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{path}: expected an integer, got {value!r}")
    return value


def boolean(value, path):
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: expected true or false, got {value!r}")
    return value


def decimal_text(value, path):
    """A decimal given as a string (``"0.01"``): TOML floats would lose exactness."""
    if isinstance(value, float):
        raise ConfigError(f"{path}: write decimals as strings to keep them exact, "
                          f'e.g. {path.rsplit(".", 1)[-1]} = "{value}"')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{path}: {value!r} is not a decimal number") from None
    if not number.is_finite() or number < 0:
        raise ConfigError(f"{path}: {value!r} must be a non-negative decimal number")
    return number


def text_list(value, path):
    if not isinstance(value, list):
        raise ConfigError(f"{path}: expected a list of strings, got {value!r}")
    return [text(item, f"{path}[{index}]") for index, item in enumerate(value)]


def table(value, path):
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: expected a table, got {value!r}")
    return dict(value)


def section(cls):
    """Kind for one nested table of class ``cls``."""
    def build(value, path):
        return load_section(cls, value, path)
    build.section = cls
    return build


def section_list(cls):
    """Kind for an array of tables of class ``cls``."""
    def build(value, path):
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected an array of tables ([[{path}]]), got {value!r}")
        return [load_section(cls, item, f"{path}[{index}]") for index, item in enumerate(value)]
    build.section = cls
    return build


def load_section(cls, data, path):
    """Build ``cls`` from the TOML table ``data`` found at ``path``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a table, got {data!r}")
    fields = {f.name: f for f in attrs.fields(cls)}
    for key in data:
        if key not in fields:
            close = difflib.get_close_matches(key, fields, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{_join(path, key)}: unknown field{hint} "
                              f"Valid fields: {', '.join(fields)}")
    values = {}
    for name, field in fields.items():
        where = _join(path, name)
        if name in data:
            values[name] = field.metadata["kind"](data[name], where)
        elif field.default is attrs.NOTHING:
            raise ConfigError(f"{where}: required field is missing ({field.metadata['doc']})")
    try:
        return cls(**values)
    except ValueError as error:  # cross-field checks word their message as "field: problem"
        raise ConfigError(_join(path, str(error))) from None


def _join(path, key):
    return f"{path}.{key}" if path else key


@attrs.frozen(kw_only=True)
class InstrumentConfig:
    symbol: str = setting("Name used by venues and strategies, e.g. 'BTC/USDT'.", text)
    base: str = setting("Asset bought and sold, e.g. 'BTC'.", text)
    quote: str = setting("Asset prices are quoted in, e.g. 'USDT'.", text)
    price_increment: Decimal = setting("Tick size as a decimal string, e.g. '0.01'.", decimal_text)
    size_increment: Decimal = setting("Lot size as a decimal string, e.g. '0.00001'.",
                                      decimal_text)

    def __attrs_post_init__(self):
        for name in ("price_increment", "size_increment"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: must be positive")


@attrs.frozen(kw_only=True)
class VenueConfig:
    name: str = setting("Unique name of the venue in this host, e.g. 'sim-a'.", text)
    connector: str = setting("Registered name of the venue connector plugin to use.", text)
    instruments: list = setting("Symbols (from [[instruments]]) traded on this venue.", text_list)
    taker_fee_bps: Decimal = setting("Taker fee in basis points, as a string.", decimal_text,
                                     Decimal(0))
    maker_fee_bps: Decimal = setting("Maker fee in basis points, as a string.", decimal_text,
                                     Decimal(0))
    enabled: bool = setting("Set false to keep the venue configured but not started.",
                            boolean, True)
    options: dict = setting("Options passed to the connector's factory.", table, {})


@attrs.frozen(kw_only=True)
class StrategyConfig:
    name: str = setting("Unique name of this strategy instance.", text)
    plugin: str = setting("Registered name of the quoting strategy plugin.", text)
    instrument: str = setting("Symbol the strategy quotes.", text)
    venues: list = setting("Venues it quotes on; empty means every venue with the instrument.",
                           text_list, [])
    options: dict = setting("Options passed to the strategy's factory.", table, {})


@attrs.frozen(kw_only=True)
class PluginChoice:
    plugin: str = setting("Registered name of the plugin.", text)
    options: dict = setting("Options passed to the plugin's factory.", table, {})


@attrs.frozen(kw_only=True)
class StoreConfig:
    path: str = setting("SQLite file the host writes; relative to the working directory.",
                        text, "liqframe.db")


@attrs.frozen(kw_only=True)
class TierConfig:
    name: str = setting("Name API keys refer to, e.g. 'retail'.", text)
    min_size: Decimal = setting("Smallest level shown, in base-asset units as a decimal string: "
                                "levels of the books holding less are hidden from this tier.",
                                decimal_text, Decimal(0))
    depth: int = setting("Most levels per side this tier may ask for.", integer, 100)
    rate: int = setting("Requests per second (token bucket refill rate); more are answered "
                        "429.", integer, 1000)
    burst: int = setting("Requests allowed at once (token bucket size); 0 means ``rate``.",
                         integer, 0)

    def __attrs_post_init__(self):
        for name in ("depth", "rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: {getattr(self, name)} must be a positive integer")
        if self.burst < 0:
            raise ValueError(f"burst: {self.burst} must not be negative")


@attrs.frozen(kw_only=True)
class ApiKeyConfig:
    key: str = setting("The secret clients send (header X-API-Key, or ?key=).", text)
    tier: str = setting("Name of the [[web.tiers]] entry this key gets.", text)


@attrs.frozen(kw_only=True)
class WebConfig:
    enabled: bool = setting("Serve the dashboard and API.", boolean, True)
    host: str = setting("Address to listen on; keep 127.0.0.1 unless behind a proxy.",
                        text, "127.0.0.1")
    port: int = setting("TCP port of the dashboard and API (0 picks a free one; the host "
                        "prints the URL).", integer, 0)
    push_hz: int = setting("WebSocket pushes per second: changes in between are coalesced "
                           "into one message.", integer, 10)
    send_queue: int = setting("Messages a WebSocket client may leave unread before it is "
                              "dropped (a slow client never slows the host).", integer, 8)
    tiers: list = setting("API key tiers ([[web.tiers]] tables); none means one tier "
                          "'full' with the defaults below.", section_list(TierConfig), [])
    keys: list = setting("API keys ([[web.keys]] tables); none means the host makes one "
                         "key of the first tier for this run and prints it in the URL.",
                         section_list(ApiKeyConfig), [])

    def __attrs_post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port: {self.port} must be between 0 and 65535")
        for name in ("push_hz", "send_queue"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}: {getattr(self, name)} must be a positive integer")
        for items, path, key in ((self.tiers, "tiers", "name"), (self.keys, "keys", "key")):
            values = [getattr(item, key) for item in items]
            for index, value in enumerate(values):
                if value in values[:index]:
                    raise ValueError(f"{path}[{index}].{key}: used twice; it must be unique")
        names = {t.name for t in self.tiers} or {"full"}
        for index, entry in enumerate(self.keys):
            if entry.tier not in names:
                raise ValueError(f"keys[{index}].tier: unknown tier {entry.tier!r}; add a "
                                 f"[[web.tiers]] table with name = {entry.tier!r} (known: "
                                 f"{', '.join(sorted(names))})")


def positive_integer(value, path):
    value = integer(value, path)
    if value <= 0:
        raise ConfigError(f"{path}: {value} must be a positive integer")
    return value


def non_negative_integer(value, path):
    value = integer(value, path)
    if value < 0:
        raise ConfigError(f"{path}: {value} must not be negative")
    return value


def realtime_priority(value, path):
    value = integer(value, path)
    if not 0 <= value <= 99:
        raise ConfigError(f"{path}: {value} is not 0 (normal scheduling) or a real-time "
                          f"priority from 1 to 99")
    return value


@attrs.frozen(kw_only=True)
class HostConfig:
    tick_ms: int = setting("Least time between two strategy ticks: book changes arriving "
                           "faster are coalesced into one tick.", positive_integer, 100)
    reconcile_s: int = setting("Seconds between re-reads of every venue's balances (orders "
                               "and fills are also reconciled after each reconnect).",
                               positive_integer, 5)
    metrics_s: int = setting("Seconds between two rows of the metrics time series.",
                             positive_integer, 1)
    max_lag_ms: int = setting("A venue whose events arrive later than this leaves the "
                              "consolidated book until it catches up (0: no limit).",
                              non_negative_integer, 2000)
    requote_ticks: int = setting("Keep a working quote while the wanted price is within this "
                                 "many ticks of it, instead of replacing it.",
                                 non_negative_integer, 0)
    gc_sweep_s: int = setting(
        "Seconds between two full garbage collections of the whole heap, the one pause of "
        "tens of milliseconds a run allows; in between, what outlives the young collections "
        "is frozen. 0: never (reference cycles that became garbage stay until the run ends).",
        non_negative_integer, 3600)
    realtime_priority: int = setting(
        "Run the host's event loop under the real-time scheduling policy SCHED_FIFO at this "
        "priority (1-99), so that other processes never keep it waiting for a core; 0 leaves "
        "it under the normal policy. Needs root, CAP_SYS_NICE or an rtprio limit "
        "(ulimit -r); the host says so and runs on when the system refuses.",
        realtime_priority, 0)


@attrs.frozen(kw_only=True)
class Config:
    plugins: list = setting("Extra local plugin modules to load after the installed ones.",
                            text_list, [])
    instruments: list = setting("Instruments the host knows ([[instruments]] tables).",
                                section_list(InstrumentConfig), [])
    venues: list = setting("Venues to connect to ([[venues]] tables).",
                           section_list(VenueConfig), [])
    strategies: list = setting("Quoting strategies to run ([[strategies]] tables).",
                               section_list(StrategyConfig), [])
    risk: list = setting("Risk models applied in order ([[risk]] tables).",
                         section_list(PluginChoice), [])
    rebalancer: PluginChoice | None = setting("The rebalancer, if any ([rebalancer] table).",
                                              section(PluginChoice), None)
    transport: PluginChoice = setting("How events travel between nodes ([transport] table).",
                                      section(PluginChoice), PluginChoice(plugin="inprocess"))
    store: StoreConfig = setting("Persistence ([store] table).", section(StoreConfig),
                                 StoreConfig())
    web: WebConfig = setting("Dashboard and API ([web] table).", section(WebConfig), WebConfig())
    host: HostConfig = setting("How the host paces ticks, reconciliation and metrics "
                               "([host] table).", section(HostConfig), HostConfig())

    def __attrs_post_init__(self):
        _unique(self.instruments, "instruments", "symbol")
        _unique(self.venues, "venues", "name")
        _unique(self.strategies, "strategies", "name")
        symbols = {i.symbol for i in self.instruments}
        venues = {v.name: v for v in self.venues}
        for index, venue in enumerate(self.venues):
            for j, symbol in enumerate(venue.instruments):
                if symbol not in symbols:
                    raise ValueError(f"venues[{index}].instruments[{j}]: unknown instrument "
                                     f"{symbol!r}; add an [[instruments]] table with symbol = "
                                     f"{symbol!r} (known: {', '.join(sorted(symbols)) or 'none'})")
        for index, strategy in enumerate(self.strategies):
            if strategy.instrument not in symbols:
                raise ValueError(f"strategies[{index}].instrument: unknown instrument "
                                 f"{strategy.instrument!r} (known: {', '.join(sorted(symbols))})")
            for j, name in enumerate(strategy.venues):
                if name not in venues:
                    raise ValueError(f"strategies[{index}].venues[{j}]: unknown venue {name!r} "
                                     f"(known: {', '.join(venues) or 'none'})")


def _unique(items, path, key):
    seen = set()
    for index, item in enumerate(items):
        value = getattr(item, key)
        if value in seen:
            raise ValueError(f"{path}[{index}].{key}: {value!r} is used twice; "
                             "names must be unique")
        seen.add(value)


def parse(text_: str, source: str = "config") -> Config:
    """Parse TOML text into a checked :class:`Config`; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text_)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{source}: not valid TOML: {error}") from None
    try:
        return load_section(Config, data, "")
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None


def load(path: str | Path | None = None) -> tuple[Config, str]:
    """Load the file at ``path``, or the embedded default; return the config and its text."""
    if path is None:
        content = resources.files("liqframe").joinpath("default.toml").read_text("utf-8")
        return parse(content, "embedded default config"), content
    path = Path(path)
    try:
        content = path.read_text("utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file: {error.strerror}") from None
    return parse(content, str(path)), content


def iter_fields(cls=Config, prefix=""):
    """Yield ``(path, field)`` for every field, nested sections included (for docs and tests)."""
    for field in attrs.fields(cls):
        path = _join(prefix, field.name)
        yield path, field
        nested = getattr(field.metadata["kind"], "section", None)
        if nested is not None:
            yield from iter_fields(nested, path)
