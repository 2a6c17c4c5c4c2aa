"""The OpenAPI 3.1 document of the API, generated from :data:`liqframe.web.routes.ROUTES`."""

import liqframe
from liqframe.web.auth import HEADER, QUERY
from liqframe.web.routes import ERROR, ROUTES

DESCRIPTION = """\
Read-only API of a running liqframe host. Every endpoint but this document needs an API key,
sent in the `X-API-Key` header (or the `key` query parameter). The key's tier hides book levels
smaller than its `min_size`, caps `depth`, and meters requests with a token bucket (`rate` a
second, `burst` at once): beyond it the answer is 429 with `Retry-After`.

Prices and sizes are exact decimal strings.

WebSocket: `GET /api/ws?key=KEY&channels=book,bbo,metrics,venues,events,fills,orders&depth=20`
pushes one JSON message of `{"type": "frame", ...}` at most `push_hz` times a second, holding
the channels asked for (changes in between are coalesced). A client that leaves more than
`send_queue` messages unread is disconnected (close code 1008).
"""


def _parameter(param, context):
    maximum, choices = param.bounds(context)
    schema = {"type": param.kind}
    if param.minimum is not None:
        schema["minimum"] = param.minimum
    if maximum is not None:
        schema["maximum"] = maximum
    if choices is not None:
        schema["enum"] = list(choices)
    default = param.default_for(context)
    if default is not None:
        schema["default"] = default
    return {"name": param.name, "in": param.where, "required": param.where == "path",
            "description": param.description, "schema": schema}


def _error(description):
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document(context):
    """The OpenAPI document for an app whose host has the names in ``context``."""
    paths = {}
    for route in ROUTES:
        operation = {
            "operationId": route.name, "summary": route.summary, "tags": [route.tag],
            "parameters": [_parameter(p, context) for p in route.params],
            "responses": {
                "200": {"description": "OK",
                        "content": {"application/json": {"schema": route.response}}},
                "400": _error("A parameter is not valid; the message names it."),
                "401": _error("The API key is missing or not known."),
                "429": _error("Rate limit of the key's tier reached; see Retry-After."),
            },
        }
        if any(p.where == "path" for p in route.params):
            operation["responses"]["404"] = _error("The venue does not trade that symbol.")
        paths[route.path] = {"get": operation}
    paths["/api/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document.", "tags": ["host"],
        "security": [], "responses": {"200": {
            "description": "OK", "content": {"application/json": {"schema": {
                "type": "object"}}}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "liqframe host API", "version": liqframe.__version__,
                 "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR},
            "securitySchemes": {
                "header": {"type": "apiKey", "in": "header", "name": HEADER},
                "query": {"type": "apiKey", "in": "query", "name": QUERY}},
        },
        "security": [{"header": []}, {"query": []}],
    }
