"""The asyncio host: builds every configured component from its plugin and runs them."""

from liqframe.host.app import Host, build_components

__all__ = ["Host", "build_components"]
