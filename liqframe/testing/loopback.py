"""An aiohttp application served on loopback for a test (a fake exchange's REST API)."""

from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def serve(app):
    """Serve ``app`` on ``127.0.0.1`` at a port the system picks; yields its base URL
    (``http://127.0.0.1:PORT``) and stops it afterwards."""
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()
