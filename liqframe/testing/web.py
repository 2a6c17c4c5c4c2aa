"""Helpers for tests of the dashboard and API: a host with its web app, in process or as a
``liqframe run`` subprocess, trading on simulated venues (the ``liqframe-simvenue`` plugin)."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
from importlib import resources

#: The line ``liqframe run`` prints once its web app listens.
URL_LINE = re.compile(r"dashboard: (?P<url>http://\S+?/)(#key=(?P<key>\S+))?$")


def web_section(keys=(("test-key", "full"),), tiers=(("full", "0", 100, 100000),)):
    """TOML of ``[[web.tiers]]`` (name, min_size, depth, rate) and ``[[web.keys]]`` (key,
    tier) tables."""
    parts = [f'[[web.tiers]]\nname = "{name}"\nmin_size = "{min_size}"\ndepth = {depth}\n'
             f"rate = {rate}\n" for name, min_size, depth, rate in tiers]
    parts += [f'[[web.keys]]\nkey = "{key}"\ntier = "{tier}"\n' for key, tier in keys]
    return "\n".join(parts)


def default_config(extra=""):
    """The embedded default configuration (four simulated venues this host serves itself)
    followed by ``extra`` TOML."""
    text = resources.files("liqframe").joinpath("default.toml").read_text("utf-8")
    return f"{text}\n{extra}"


@contextlib.contextmanager
def running_host(config_text, directory, duration=120, timeout=60):
    """Run ``liqframe run`` on ``config_text`` in a subprocess; yield ``(url, key, lines)``
    once its dashboard listens (``key`` is the generated one, or None), and stop it with
    SIGTERM afterwards. ``lines`` keeps growing with the host's output."""
    config = os.path.join(directory, "host.toml")
    with open(config, "w") as file:
        file.write(config_text)
    process = subprocess.Popen(
        [sys.executable, "-P", "-m", "liqframe", "run", "--config", config, "--db",
         os.path.join(directory, "host.db"), "--duration", str(duration)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=directory)
    lines, found = [], threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if URL_LINE.search(lines[-1]):
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not found.wait(timeout) or process.poll() is not None:
            raise RuntimeError("liqframe run did not print its dashboard URL:\n" +
                               "\n".join(lines))
        match = next(URL_LINE.search(line) for line in lines if URL_LINE.search(line))
        yield match["url"], match["key"], lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(5)


