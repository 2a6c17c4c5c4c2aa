"""Read the exchange recordings of ``shared/data`` into one shape: what the client sent, what
it received, and the REST replies it fetched.

Formats understood (``shared/data/README.md`` describes each):

- cryptofeed's plain-text files: ``<url> <-> <epoch>`` opens a connection, ``<url> <- <epoch>:
  <json>`` is a message sent, ``<epoch>: <json>`` one received; ``*.http.*`` files (and
  ``KRAKEN.0``) hold ``<url> -> <epoch>: <body>`` lines. A ``NAME.ws.*`` file's REST
  companion ``NAME.http.*`` beside it is read too.
- cryptofeed's format 2, ``*.jsonl.zst``: one JSON object a line with ``t`` (header, http,
  connect, send, recv), ``conn``, ``ts`` and the raw message in ``data``.
- a JSON array of raw messages (nautilus_trader's Bitfinex ``L3_feed.json``): received, no
  times.
- a zip of JSONL lines (Bybit's historical ``*.data.zip``): each line a received message,
  timed by its ``ts`` (milliseconds).
"""

import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Frame:
    """One message: its recorded time (seconds since the epoch; 0.0 when not recorded)."""

    time: float
    data: bytes


@dataclass
class Recording:
    """A recorded session: the WebSocket ``url`` opened, frames ``sent`` and ``received``,
    and ``http`` replies as ``(url, time, body)``; ``name`` is the file's name and ``path``
    where it was read from."""

    name: str
    path: Path | None = None
    url: str | None = None
    sent: list = field(default_factory=list)
    received: list = field(default_factory=list)
    http: list = field(default_factory=list)

    def find(self, predicate, start=0):
        """Index of the first received frame from ``start`` whose decoded JSON satisfies
        ``predicate`` (frames that are not JSON are skipped); ValueError when none does."""
        for index in range(start, len(self.received)):
            try:
                message = json.loads(self.received[index].data)
            except ValueError:
                continue
            if predicate(message):
                return index
        raise ValueError(f"{self.name}: no received message from #{start} matches")


_CONNECT = re.compile(r"^(\S+) <-> ([0-9.]+)$")
_SENT = re.compile(r"^(\S+) <- ([0-9.]+): ")
_HTTP = re.compile(r"^(\S+) -> ([0-9.]+): ")
_RECEIVED = re.compile(r"^([0-9.]+): ")


def _read_text(path, recording):
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if match := _RECEIVED.match(line):
                recording.received.append(
                    Frame(float(match[1]), line[match.end():].encode()))
            elif match := _SENT.match(line):
                recording.sent.append(Frame(float(match[2]), line[match.end():].encode()))
            elif match := _HTTP.match(line):
                recording.http.append((match[1], float(match[2]), line[match.end():].encode()))
            elif match := _CONNECT.match(line):
                if recording.url is None:
                    recording.url = match[1]
            else:
                raise ValueError(f"{path}: line not in cryptofeed's format: {line[:80]!r}")


def _read_jsonl_zst(path, recording):
    import zstandard

    with open(path, "rb") as raw:
        text = zstandard.ZstdDecompressor().stream_reader(raw).read().decode()
    for line in text.splitlines():
        entry = json.loads(line)
        kind = entry.get("t")
        if kind == "recv":
            recording.received.append(Frame(entry["ts"], entry["data"].encode()))
        elif kind == "send":
            recording.sent.append(Frame(entry["ts"], entry["data"].encode()))
        elif kind == "http":
            recording.http.append((entry["url"], entry["ts"], entry["data"].encode()))
        elif kind == "connect" and recording.url is None:
            recording.url = entry["addr"]


def _read_json_array(path, recording):
    with open(path, encoding="utf-8") as source:
        for message in json.load(source):
            recording.received.append(Frame(0.0, json.dumps(message).encode()))


def _read_zip(path, recording):
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as raw:
                for line in io.TextIOWrapper(raw, encoding="utf-8"):
                    if line.strip():
                        ts = json.loads(line).get("ts", 0)
                        recording.received.append(Frame(ts / 1000, line.strip().encode()))


def companion_http(path):
    """The REST recording recorded alongside a ``NAME.ws.*`` file, or None."""
    path = Path(path)
    if ".ws." not in path.name:
        return None
    prefix = path.name.split(".ws.")[0]
    found = sorted(path.parent.glob(f"{prefix}.http.*"))
    return found[0] if found else None


def load(path):
    """Read the recording at ``path`` (any format above) into a :class:`Recording`."""
    path = Path(path)
    recording = Recording(path.name, path)
    if path.name.endswith(".jsonl.zst"):
        _read_jsonl_zst(path, recording)
    elif path.suffix == ".zip":
        _read_zip(path, recording)
    elif path.suffix == ".json":
        _read_json_array(path, recording)
    else:
        _read_text(path, recording)
        http = companion_http(path)
        if http is not None:
            _read_text(http, recording)
    return recording
