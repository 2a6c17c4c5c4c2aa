"""The live status display: drawn in a thread of its own from rows the loop reads."""

import asyncio
import io
import sys
import threading

from rich.console import Console

from liqframe import config as config_module
from liqframe.host import Host, build_components
from liqframe.host.status import SWITCH_INTERVAL_S, LiveStatus
from liqframe.plugins import Registry, get_plugin_manager


def make_host(tmp_path):
    cfg, text = config_module.load(None)  # the embedded default configuration
    return Host(cfg, text, build_components(cfg, Registry.collect(get_plugin_manager())),
                db_path=tmp_path / "s.db", report=lambda line: None)


async def test_redraws_happen_off_the_loop_and_the_switch_interval_comes_back(tmp_path):
    host = make_host(tmp_path)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    status = LiveStatus(console, host, duration=None, refresh=0.05)
    threads = set()
    render = status.render

    def watched(snapshot=None):
        threads.add(threading.current_thread() is threading.main_thread())
        return render(snapshot)

    status.render = watched
    before = sys.getswitchinterval()
    async with status.running():
        assert sys.getswitchinterval() == min(before, SWITCH_INTERVAL_S)
        for _ in range(100):
            if status.draws >= 3:
                break
            await asyncio.sleep(0.05)
    assert sys.getswitchinterval() == before
    assert status.draws >= 3
    assert False in threads  # redraws were made by another thread than the loop's
    assert "liqframe run" in out.getvalue() and "venue" in out.getvalue()


def test_nothing_is_drawn_when_the_output_is_not_a_terminal(tmp_path):
    out = io.StringIO()
    status = LiveStatus(Console(file=out), make_host(tmp_path), duration=5, refresh=0.01)

    async def run():
        async with status.running():
            await asyncio.sleep(0.1)

    asyncio.run(run())
    assert out.getvalue() == "" and status.draws == 0
