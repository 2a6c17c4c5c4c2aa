"""The asyncio host: builds every configured component from its plugin and runs them."""

from liqframe.host.app import Host, build_components
from liqframe.host.scheduling import new_event_loop

__all__ = ["Host", "build_components", "new_event_loop"]
