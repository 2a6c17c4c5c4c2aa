"""The dashboard: one HTML page and its script and styles, served from the package.

The page holds no data and needs no key to load; its script reads the key from the URL's
fragment (``/#key=...``, which browsers never send to the server) and opens the WebSocket.
"""

from importlib import resources

from aiohttp import web

STATIC = resources.files("liqframe.web").joinpath("static")


async def index(request):
    return web.FileResponse(STATIC.joinpath("index.html"),
                            headers={"Cache-Control": "no-cache"})


def add_routes(app):
    app.router.add_get("/", index, name="dashboard")
    app.router.add_static("/static/", str(STATIC), name="static")
