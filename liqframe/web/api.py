"""REST handlers, request checking, and the key/rate-limit guard.

Each handler of :data:`~liqframe.web.routes.ROUTES` is the function of the same name here,
called with the host, the checked parameters and the caller's :class:`~liqframe.web.auth.Client`.
Parameters are checked against the route table (the same declarations the OpenAPI document is
made from): an unknown parameter, a value of the wrong type, out of range or not among the
choices is answered 400 with a message naming the parameter.

Answers made only from the books (:data:`CACHED`) are kept, serialised, per request line and
tier until the market's :attr:`~liqframe.host.books.Market.version` moves: a thousand clients
asking for the same top 20 between two book changes cost one answer.
"""

import math
import re

import orjson
from aiohttp import web

from liqframe.web import views
from liqframe.web.auth import HEADER, QUERY
from liqframe.web.routes import ROUTES

HOST = web.AppKey("host", object)
KEYRING = web.AppKey("keyring", object)
CONTEXT = web.AppKey("context", object)
STREAM = web.AppKey("stream", object)
OPENAPI = web.AppKey("openapi", bytes)
ANSWERS = web.AppKey("answers", object)
#: The caller's Client, set on the request by :func:`guarded` (RequestKey: aiohttp >= 3.12).
CLIENT = web.RequestKey("client", object) if hasattr(web, "RequestKey") else "client"


INTEGER = re.compile(r"-?[0-9]+")


class BadRequest(Exception):
    status = 400


class NotFound(BadRequest):
    """Valid parameters naming something that does not exist (a venue's other symbol)."""

    status = 404


#: Routes whose answers depend only on the market's books, views and venue health.
CACHED = frozenset({"consolidated_book", "venue_book"})


class AnswerCache:
    """Serialised answers keyed by (route, request path and query, tier), each valid while the
    market's version is the one it was made at. Bounded: it starts afresh when full (distinct
    request lines are few: assets x depths x views, venues x symbols x depths)."""

    def __init__(self, limit=4096):
        self.limit = limit
        self.entries = {}
        self.hits = self.misses = 0

    def get(self, key, version):
        entry = self.entries.get(key)
        if entry is not None and entry[0] == version:
            self.hits += 1
            return entry[1]
        self.misses += 1
        return None

    def put(self, key, version, body):
        if len(self.entries) >= self.limit:
            self.entries.clear()
        self.entries[key] = (version, body)


def json_response(data, status=200, headers=None):
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")


def error(status, message, headers=None):
    return json_response({"error": message}, status, headers)


def guarded(handler):
    """``handler`` behind the API key and the rate limit: every /api route but the OpenAPI
    document. A wrapper per route rather than an aiohttp middleware, which would cost every
    request two more coroutines."""
    async def guard(request):
        key = request.headers.get(HEADER) or request.query.get(QUERY)
        client = request.app[KEYRING].client(key)
        if client is None:
            problem = "missing API key" if not key else "unknown API key"
            return error(401, f"{problem}: send it in the {HEADER} header or the ?{QUERY}= "
                              "query parameter",
                         {"WWW-Authenticate": f'ApiKey header="{HEADER}"'})
        wait = client.bucket.take()
        if wait:
            return error(429, f"rate limit of tier {client.tier.name!r} reached "
                              f"({client.tier.rate} requests a second); retry after "
                              f"{wait:.3f} s", {"Retry-After": str(max(1, math.ceil(wait)))})
        request[CLIENT] = client
        return await handler(request)

    guard.__name__ = getattr(handler, "__name__", "guard")
    return guard


def _integer(param, raw):
    if not INTEGER.fullmatch(raw) or len(raw) > 30:
        raise BadRequest(f"{param.name}: {raw!r} is not an integer")
    return int(raw)


def check(param, raw, context):
    """The value of ``param`` from its raw text, or BadRequest naming it."""
    value = _integer(param, raw) if param.kind == "integer" else raw
    maximum, choices = param.bounds(context)
    if param.minimum is not None and value < param.minimum:
        raise BadRequest(f"{param.name}: {value} is below the minimum of {param.minimum}")
    if maximum is not None and value > maximum:
        raise BadRequest(f"{param.name}: {value} is above the maximum of {maximum}")
    if choices is not None and value not in choices:
        raise BadRequest(f"{param.name}: {value!r} is not one of {', '.join(map(str, choices))}")
    return value


def _accepted(route):
    return frozenset({p.name for p in route.params if p.where == "query"} | {QUERY})


def parse(route, request, context, tier):
    """Checked parameters of ``request`` for ``route``, defaults filled in."""
    accepted = _ACCEPTED.get(route.name) or _accepted(route)
    for name in request.query:
        if name not in accepted:
            raise BadRequest(f"unknown parameter {name!r}; accepted: "
                             f"{', '.join(sorted(accepted - {QUERY})) or 'none'}")
    values = {}
    for param in route.params:
        source = request.match_info if param.where == "path" else request.query
        raw = source.get(param.name)
        values[param.name] = param.default_for(context) if raw is None else \
            check(param, raw, context)
    depth = values.get("depth")
    if depth is not None and depth > tier.depth:
        raise BadRequest(f"depth: {depth} is more than tier {tier.name!r} allows "
                         f"({tier.depth})")
    return values


_ACCEPTED = {route.name: _accepted(route) for route in ROUTES}
DEPTH = next(p for r in ROUTES for p in r.params if p.name == "depth")


def check_depth(raw, tier, context):
    """A WebSocket's ``depth`` (its tier's depth or 20 when not given), or ValueError."""
    if raw is None:
        return min(DEPTH.default_for(context), tier.depth)
    try:
        depth = check(DEPTH, raw, context)
    except BadRequest as problem:
        raise ValueError(str(problem)) from None
    if depth > tier.depth:
        raise ValueError(f"depth: {depth} is more than tier {tier.name!r} allows "
                         f"({tier.depth})")
    return depth


def make_handler(route, function):
    if route.name in CACHED:
        async def handle(request):
            app = request.app
            client = request[CLIENT]
            version = app[HOST].market.version
            key = (route.name, request.raw_path, client.tier.name)
            answers = app[ANSWERS]
            body = answers.get(key, version)
            if body is None:
                try:
                    params = parse(route, request, app[CONTEXT], client.tier)
                    body = orjson.dumps(function(app, params, client))
                except BadRequest as problem:
                    return error(problem.status, str(problem))
                answers.put(key, version, body)
            return web.Response(body=body, content_type="application/json")
    else:
        async def handle(request):
            app = request.app
            client = request[CLIENT]
            try:
                params = parse(route, request, app[CONTEXT], client.tier)
                data = function(app, params, client)
            except BadRequest as problem:
                return error(problem.status, str(problem))
            return json_response(data)

    handle.__name__ = route.name
    return handle


# --- the handlers, one per route -----------------------------------------------------------

def consolidated_book(app, params, client):
    return views.consolidated(app[HOST], params["asset"], params["depth"],
                              client.tier.min_size, params["view"])


def venues(app, params, client):
    return app[HOST].market.venue_rows()


def venue_book(app, params, client):
    host, venue = app[HOST], params["venue"]
    symbols = host.market.venue_symbols[venue]
    symbol = params["symbol"] or symbols[0]
    if symbol not in symbols:
        raise NotFound(f"symbol: {venue} does not trade {symbol!r} "
                         f"(it trades {', '.join(symbols)})")
    return views.venue_book(host, venue, symbol, params["depth"], client.tier.min_size)


def best_bid_offer(app, params, client):
    return views.bbo(app[HOST])


def orders(app, params, client):
    host = app[HOST]
    if params["status"] == "open":
        return views.open_orders(host, params["venue"])[:params["limit"]]
    return views.stored_orders(host, params["venue"], params["limit"])


def fills(app, params, client):
    return views.fills(app[HOST], params["venue"], params["limit"], params["after_id"])


def balances(app, params, client):
    return views.balances(app[HOST])


def metrics(app, params, client):
    return views.metrics(app[HOST])


def events(app, params, client):
    return app[STREAM].recent_events(params["limit"])


def tier(app, params, client):
    return client.tier.as_dict()


async def openapi(request):
    return web.Response(body=request.app[OPENAPI], content_type="application/json")


def add_routes(app):
    handlers = globals()
    for route in ROUTES:
        app.router.add_get(route.path, guarded(make_handler(route, handlers[route.name])),
                           name=route.name)
    app.router.add_get("/api/openapi.json", openapi, name="openapi")
