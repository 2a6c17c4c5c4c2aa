"""The dashboard and the REST/WebSocket API of a running host (``[web]`` config section).

The host calls :func:`start_web` once its market state is built and stops the returned
server when it shuts down; ``liqframe run`` prints the dashboard's URL. Everything here reads
the host (:meth:`~liqframe.host.Host.snapshot`, its market, orders, portfolio, store and event
hub) and never writes to it.
"""


async def start_web(host):
    """Serve ``host``'s dashboard and API when ``[web] enabled``; the running
    :class:`~liqframe.web.app.WebServer`, or None when disabled."""
    web_config = host.config.web
    if not web_config.enabled:
        return None
    from liqframe.web.app import WebServer, make_app

    server = await WebServer(make_app(host, web_config), web_config).start()
    host.report(f"dashboard: {server.dashboard_url()}")
    return server
