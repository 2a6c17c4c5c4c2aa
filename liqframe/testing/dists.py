"""For testing plugin discovery: install throwaway plugin distributions into a folder on
sys.path the way pip would (a module plus a ``.dist-info`` with ``entry_points.txt``), so that
entry-point discovery runs for real."""

import sys
import textwrap
from pathlib import Path


def install_fake_dist(site: Path, distribution: str, modules: dict[str, str],
                      entry_points: dict[str, str], version="1.0"):
    """Write ``modules`` (name -> source) and a dist-info declaring ``entry_points``
    (entry-point name -> module) under ``site``."""
    for name, source in modules.items():
        (site / f"{name}.py").write_text(textwrap.dedent(source))
    info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entry_points.items())
    (info / "entry_points.txt").write_text(f"[liqframe]\n{lines}")
    for name in modules:
        sys.modules.pop(name, None)
