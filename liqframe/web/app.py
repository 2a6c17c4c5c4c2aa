"""The aiohttp application of a host, and the server that runs it on the host's loop.

:func:`make_app` wires the pieces: the key guard (:mod:`~liqframe.web.auth`,
:mod:`~liqframe.web.api`), the REST routes and their OpenAPI document (one route table,
:mod:`~liqframe.web.routes`), the WebSocket stream (:mod:`~liqframe.web.stream`) and the
dashboard page (:mod:`~liqframe.web.dashboard`). It only reads the host.
"""

import orjson
from aiohttp import web

from liqframe.web import api, dashboard, openapi, stream
from liqframe.web.auth import Keyring
from liqframe.web.routes import Context


def context_of(host, keyring):
    market = host.market
    return Context(assets=tuple(market.groups), venues=tuple(market.venue_symbols),
                   symbols=tuple(market.instruments),
                   max_depth=max(t.depth for t in keyring.tiers.values()))


def make_app(host, web_config):
    """The web application of ``host`` (whose market must be built) for ``web_config``."""
    keyring = Keyring(web_config)
    context = context_of(host, keyring)
    app = web.Application()
    app[api.HOST], app[api.KEYRING], app[api.CONTEXT] = host, keyring, context
    app[api.OPENAPI] = orjson.dumps(openapi.document(context))
    app[api.ANSWERS] = api.AnswerCache()
    app[api.STREAM] = feed = stream.Stream(host, web_config.push_hz, web_config.send_queue)

    async def ws_handler(request):
        return await stream.websocket(request, feed, context)

    api.add_routes(app)
    app.router.add_get("/api/ws", api.guarded(ws_handler), name="websocket")
    dashboard.add_routes(app)

    async def on_startup(app):
        await feed.start()

    async def on_shutdown(app):
        await feed.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


class WebServer:
    """``make_app`` served on ``host:port`` of ``web_config``; :attr:`url` once started."""

    def __init__(self, app, web_config):
        self.app, self.config = app, web_config
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                    shutdown_timeout=1.0)
        self.url = None
        self.port = None

    @property
    def keyring(self):
        return self.app[api.KEYRING]

    async def start(self):
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        self.port = self.runner.addresses[0][1]
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        self.url = f"http://{host}:{self.port}/"
        return self

    def dashboard_url(self):
        """The URL to open: with the run's generated key in the fragment, if there is one."""
        key = self.keyring.generated
        return self.url + (f"#key={key}" if key else "")

    async def stop(self):
        await self.runner.cleanup()
