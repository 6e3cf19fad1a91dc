"""The API reference: an OpenAPI 3.1 document built from the routes the enabled plugins serve.

Nothing is listed by hand, so the document cannot drift from the code: `build(app)` walks the
app's routes (a disabled plugin's are gone, a third-party plugin's are there) and, per route,
reads

- methods, path and path parameter types from the Starlette route;
- the OAuth scope from `core.auth.api_route`'s `required_scope`;
- the rate limit group from `core.ratelimit.RateLimits`, as the middleware picks it;
- the query and body parameters from the handler's own source: every `p.int("limit", minimum=1,
  maximum=50)`, `p.str(...)`, `p.list(...)` call on `core.http.Params` (and in the module's
  helpers the handler calls), with their limits;
- what the handler declares next to itself with `@describe(...)` (response schemas, summary,
  content type), schemas named from `core.openapi_schemas` or a plugin's `openapi_schemas` hook.

The realtime endpoints (SignalR hubs, the notification websocket) are not HTTP operations; they
are listed under the `x-websockets` extension with their hub methods, and `/docs` renders them.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from starlette.convertors import FloatConvertor, IntegerConvertor
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from core import openapi_schemas
from core.auth import ANY_SCOPE, SCOPES
from core.http import INT64_MAX, INT64_MIN
from core.services import services

OPENAPI_ATTR = "__openapi__"
F = TypeVar("F", bound=Callable[..., Any])

# The `Params` accessors and the JSON Schema their value has.
_ACCESSORS = {"str", "int", "bool", "list", "dict", "get"}
# Keyword (and positional index, the key being 0) of each accessor's limits.
_LIMIT_ARGS = {
    "int": {"minimum": 2, "maximum": 3},
    "str": {"max_length": 2},
    "list": {"max_items": 1},
}
# Error statuses a handler (or a helper of its package) answers: the literal codes in its
# source, and those of core.http's helpers.
_ERROR_CODE = re.compile(r"\b(4[0-2][0-9])\b")
_ERROR_HELPERS = {
    "not_found(": 404,
    "unprocessable(": 422,
    "Params": 422,
    "params(": 422,
    "throttle(": 429,
}
_MEDIA_TYPE = re.compile(r"['\"]((?:application|text|image|audio)/[a-z0-9.+-]+)['\"]")
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")


def describe(
    *,
    summary: str | None = None,
    responses: Mapping[int, str | dict[str, Any] | None] | None = None,
    content_type: str | None = None,
    parameters: Mapping[str, dict[str, Any]] | None = None,
    errors: Sequence[int] = (),
) -> Callable[[F], F]:
    """Declare what the document cannot read from the handler, next to the handler.

    `responses`: status -> a schema name (`"User"`, from `core.openapi_schemas` or a plugin's
    `openapi_schemas` hook), a JSON Schema dict, or None for a body-less answer.
    `parameters`: name -> JSON Schema, for parameters read other than through `Params`.
    `errors`: error statuses raised where the source reading does not look (a helper of another
    package), documented as the handler's other errors are.
    """

    def mark(func: F) -> F:
        setattr(
            func,
            OPENAPI_ATTR,
            {
                "summary": summary,
                "responses": dict(responses or {}),
                "content_type": content_type,
                "parameters": dict(parameters or {}),
                "errors": tuple(errors),
            },
        )
        return func

    return mark


# --- walking the app ---------------------------------------------------------------------------


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, BaseRoute]]:
    """(full path, route) of every endpoint, Mounts flattened; a Mount of a plain ASGI app (static
    files) is yielded itself."""
    for route in routes:
        if isinstance(route, Mount) and route.routes:
            yield from walk(list(route.routes), prefix + route.path)
        else:
            yield prefix + getattr(route, "path", ""), route


def openapi_path(path: str) -> str:
    """Starlette's `{id:int}` as OpenAPI's `{id}`."""
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", r"{\1}", path)


def route_endpoint(route: BaseRoute) -> Callable[..., Any] | None:
    endpoint = getattr(route, "endpoint_function", None) or getattr(route, "endpoint", None)
    return endpoint if callable(endpoint) else None


# --- reading a handler's parameters from its source ---------------------------------------------


def _module_globals(func: Callable[..., Any]) -> dict[str, Any]:
    return dict(getattr(inspect.unwrap(func), "__globals__", {}))


def _source_tree(func: Callable[..., Any]) -> ast.AST | None:
    try:
        source = inspect.getsource(inspect.unwrap(func))
    except (OSError, TypeError):
        return None
    try:
        return ast.parse(textwrap.dedent(source))
    except SyntaxError:
        return None


def _value(node: ast.expr, scope: dict[str, Any]) -> Any:
    """A limit's value: a literal, a module constant or simple arithmetic on them; else None."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    try:
        expression = ast.Expression(body=node)
        return eval(compile(expression, "<limit>", "eval"), {"__builtins__": {}}, scope)
    except Exception:
        return None


def _param_schema(kind: str, limits: dict[str, Any]) -> dict[str, Any]:
    if kind == "int":
        schema: dict[str, Any] = {"type": "integer"}
        schema["minimum"] = limits.get("minimum", INT64_MIN)
        schema["maximum"] = limits.get("maximum", INT64_MAX)
        return schema
    if kind == "str":
        return {"type": "string", "maxLength": limits.get("max_length", 4096)}
    if kind == "bool":
        # osu-web's get_bool: "1", "true", "on", ... and anything else counts as not given.
        return {"type": ["boolean", "string", "integer", "null"]}
    if kind == "list":
        schema = {"type": "array", "items": {"type": "string"}}
        if "max_items" in limits:
            schema["maxItems"] = limits["max_items"]
        return schema
    if kind == "dict":
        return {"type": "object"}
    return {"type": "string"}


def _same_package(func: Any, module: str) -> bool:
    return (
        inspect.isfunction(func) and (func.__module__ or "").split(".")[:2] == module.split(".")[:2]
    )


PARAMS_NAMES = ("p", "params", "q", "args", "data")


def _reads_params(helper: Any, call: ast.Call) -> bool:
    """A core helper handed the request's parameters (`inputs.reason(p, ...)`): what it reads
    is the handler's input too."""
    return (
        inspect.isfunction(helper)
        and (helper.__module__ or "").startswith("core.")
        and any(isinstance(a, ast.Name) and a.id in PARAMS_NAMES for a in call.args)
    )


def handler_sources(
    func: Callable[..., Any], depth: int = 3
) -> list[tuple[ast.AST, dict[str, Any]]]:
    """The parsed source (and module globals) of `func` and of the helpers of its own package it
    calls, `depth` calls deep."""
    found: list[tuple[ast.AST, dict[str, Any]]] = []
    seen: set[int] = set()
    module = getattr(inspect.unwrap(func), "__module__", "") or ""

    def visit(f: Callable[..., Any], level: int) -> None:
        if id(f) in seen or level > depth:
            return
        seen.add(id(f))
        tree = _source_tree(f)
        if tree is None:
            return
        scope = _module_globals(f)
        found.append((tree, scope))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = node.func
            helper: Any = None
            if isinstance(target, ast.Name):
                helper = scope.get(target.id)
            elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                owner = scope.get(target.value.id)
                if inspect.ismodule(owner):
                    helper = getattr(owner, target.attr, None)
            if helper is not None and (
                _same_package(helper, module) or _reads_params(helper, node)
            ):
                visit(helper, level + 1)

    visit(func, 0)
    return found


def inferred_params(func: Callable[..., Any]) -> dict[str, dict[str, Any]]:
    """name -> JSON Schema of each `Params` read in `func` and the same-package helpers it calls."""
    found: dict[str, dict[str, Any]] = {}
    for tree, scope in handler_sources(func):
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            target = node.func
            named = _named_read(node)
            if named is not None:
                # `helper(p, "key", max_length=...)`: a helper reading one named parameter.
                found.setdefault(named[0], _param_schema("str", named[1]))
                continue
            if not (
                isinstance(target, ast.Attribute)
                and target.attr in _ACCESSORS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and isinstance(target.value, ast.Name)
                and target.value.id in PARAMS_NAMES
            ):
                continue
            kind = target.attr
            limits: dict[str, Any] = {}
            for name, index in _LIMIT_ARGS.get(kind, {}).items():
                arg = node.args[index] if len(node.args) > index else None
                for keyword in node.keywords:
                    if keyword.arg == name:
                        arg = keyword.value
                if arg is not None:
                    value = _value(arg, scope)
                    if isinstance(value, int) and not isinstance(value, bool):
                        limits[name] = value
            key = node.args[0].value
            # A key read twice keeps its most typed reading.
            if key not in found or (found[key].get("type") == "string" and kind != "get"):
                found[key] = _param_schema(kind, limits)
    return found


def _named_read(call: ast.Call) -> tuple[str, dict[str, Any]] | None:
    """(key, limits) of a call handing the parameters and a literal key to a helper."""
    if (
        isinstance(call.func, ast.Attribute | ast.Name)
        and len(call.args) >= 2
        and isinstance(call.args[0], ast.Name)
        and call.args[0].id in PARAMS_NAMES
        and isinstance(call.args[1], ast.Constant)
        and isinstance(call.args[1].value, str)
    ):
        limits: dict[str, Any] = {}
        for keyword in call.keywords:
            value = keyword.value
            if keyword.arg == "max_length" and isinstance(value, ast.Constant):
                if isinstance(value.value, int):
                    limits["max_length"] = value.value
        return call.args[1].value, limits
    return None


def _source_text(func: Callable[..., Any]) -> str:
    """The handler's and its helpers' source, for what it answers (HTML, redirects, 204)."""
    return "\n".join(ast.unparse(tree) for tree, _ in handler_sources(func))


# --- the document ------------------------------------------------------------------------------


def _json_property(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if kind == "string":
        return {**schema, "type": ["string", "integer", "number", "boolean", "null"]}
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return schema


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _response_content(schema: str | dict[str, Any], content_type: str) -> dict[str, Any]:
    resolved = _ref(schema) if isinstance(schema, str) else schema
    return {"content": {content_type: {"schema": resolved}}}


def _tag(func: Callable[..., Any] | None) -> str:
    module = getattr(func, "__module__", "") or ""
    parts = module.split(".")
    return parts[1] if parts[0] == "plugins" and len(parts) > 1 else "core"


def _content_type(declared: str | None, source: str) -> str:
    if declared:
        return declared
    if "HTMLResponse" in source:
        return "text/html"
    return "application/json"


def operation(app: Any, path: str, route: Route, method: str, operation_id: str) -> dict[str, Any]:
    func = route_endpoint(route)
    # A wrapper (`functools.wraps`, or `__wrapped__` set by hand) has its handler's declaration.
    declared: dict[str, Any] = (
        getattr(func, OPENAPI_ATTR, None)
        or (getattr(inspect.unwrap(func), OPENAPI_ATTR, None) if func else None)
        or {}
    )
    doc = inspect.getdoc(func) or "" if func else ""
    summary = declared.get("summary") or (doc.splitlines()[0] if doc else route.name or path)
    op: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [_tag(func)],
    }
    if doc:
        op["description"] = doc
    parameters: list[dict[str, Any]] = []
    for name, convertor in route.param_convertors.items():
        if isinstance(convertor, IntegerConvertor):
            schema: dict[str, Any] = {"type": "integer", "minimum": 0}
        elif isinstance(convertor, FloatConvertor):
            schema = {"type": "number", "minimum": 0}
        else:
            schema = {"type": "string", "pattern": "^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    found = inferred_params(func) if func else {}
    found.update(declared.get("parameters") or {})
    path_names = set(route.param_convertors)
    found = {k: v for k, v in found.items() if k not in path_names}
    if method in ("GET", "HEAD", "DELETE"):
        for name, schema in sorted(found.items()):
            # An empty value counts as not given (osu-web's semantics, `Params.get`).
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "schema": schema,
                "allowEmptyValue": True,
            }
            if schema.get("type") == "array":
                del param["allowEmptyValue"]
                param["name"] = name + "[]"
                param["style"], param["explode"] = "form", True
            elif schema.get("type") == "object":
                param["style"], param["explode"] = "deepObject", True
            parameters.append(param)
    elif found:
        # A JSON body's scalars are read as text too (`Params.str` takes 5 for "5"), and a JSON
        # null is a value not given, as an absent field is (`Params.get`).
        properties = {name: _json_property(schema) for name, schema in sorted(found.items())}
        # Forms send an array as repeated `name[]` fields (PHP style, as lazer does).
        form_properties = {
            (name + "[]" if schema.get("type") == "array" else name): schema
            for name, schema in sorted(found.items())
        }
        op["requestBody"] = {
            "required": False,
            "content": {
                content_type: {
                    "schema": {
                        "type": "object",
                        "properties": properties
                        if content_type == "application/json"
                        else form_properties,
                    }
                }
                for content_type in _BODY_TYPES
            },
        }
    if parameters:
        op["parameters"] = parameters

    scope = getattr(route, "required_scope", "-")
    if scope == "-":
        pass  # not an api_route: it checks what it needs itself (cookies, form credentials)
    elif scope is None:
        op["security"] = [{}, {"oauth2": []}]
    elif scope == ANY_SCOPE:
        op["security"] = [{"oauth2": []}]
    else:
        op["security"] = [{"oauth2": [scope]}]
    if scope not in ("-", None):
        op["x-scope"] = scope

    responses: dict[str, Any] = {}
    source = _source_text(func) if func else ""
    content_type = _content_type(declared.get("content_type"), source)
    # Other bodies the handler answers with (`media_type="text/plain"`, archives, replays).
    other_types = sorted(set(_MEDIA_TYPE.findall(source)) - {content_type})
    declared_responses: dict[int, Any] = declared.get("responses") or {}
    # A declared 2xx, or a declared redirect alone (a form that always redirects), is the
    # whole story: no JSON 200 is guessed.
    if not any(200 <= status < 400 for status in declared_responses):
        if "no_content(" in source:
            responses["204"] = {"description": "No content"}
        if "no_content(" not in source or re.search(r"\bjson\(|Response\(", source):
            answers: dict[str, Any] = {content_type: {"schema": {}}}
            if content_type != "application/json":
                answers = {content_type: {}}
            answers.update({kind: {} for kind in other_types})
            responses["200"] = {"description": "OK", "content": answers}
    if "redirect(" in source or "RedirectResponse" in source:
        for redirect in ("302", "303"):
            responses[redirect] = {"description": "Redirect"}
    for status, schema in sorted(declared_responses.items()):
        entry: dict[str, Any] = {"description": _reason(status)}
        if schema is not None:
            entry.update(_response_content(schema, declared.get("content_type") or content_type))
        responses[str(status)] = entry
    error: dict[str, Any] = {"description": "", **_response_content("Error", "application/json")}
    if content_type == "text/html":
        # The web pages answer their errors as pages too.
        error["content"] = {**error["content"], "text/html": {}}
    if "text/plain" in (content_type, *other_types):
        # A text route (`/osu/{beatmap}`, osu-web's raw .osu) refuses as text too.
        error["content"] = {**error["content"], "text/plain": {}}
    errors: set[int] = {int(code) for code in _ERROR_CODE.findall(source)}
    errors |= {status for name, status in _ERROR_HELPERS.items() if name in source}
    errors |= set(declared.get("errors") or ())
    if scope not in ("-", None):
        responses.setdefault("401", {**error, "description": "Missing or invalid token"})
        if scope != ANY_SCOPE:
            responses.setdefault("403", {**error, "description": "Token lacks the scope"})
    if path_names:
        errors.add(404)
    if found or path_names:
        errors.add(422)
    # Refused by the HTTP layer before any handler: a body, URL or headers too long.
    errors |= {413, 414, 431}
    for code in sorted(errors):
        responses.setdefault(str(code), {**error, "description": _reason(code)})
    limits = services(app).ratelimits
    group, item = limits.limit_for(path)
    if limits.enabled and item is not None:
        op["x-rate-limit"] = {"group": group, "limit": str(item)}
        responses.setdefault("429", {**error, "description": "Too many requests"})
    op["responses"] = responses
    return op


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return str(status)


def websockets(app: Any) -> list[dict[str, Any]]:
    """The realtime endpoints: each hub with its methods and callbacks, and plain websockets."""
    hubs = services(app).hubs
    found: list[dict[str, Any]] = []
    for path, route in walk(app.routes):
        if not isinstance(route, WebSocketRoute):
            continue
        entry: dict[str, Any] = {"path": path}
        name = path.removeprefix("/signalr/")
        host = hubs.get(name) if path.startswith("/signalr/") else None
        if host is not None:
            hub = host.hub
            entry.update(
                {
                    "kind": "signalr",
                    "scope": hub.scope,
                    "negotiate": f"{path}/negotiate",
                    "protocols": ["messagepack", "json"],
                    "summary": (inspect.getdoc(hub) or "").split("\n\n")[0],
                    "methods": sorted(hub.methods()),
                    "callbacks": sorted(hub.callbacks),
                }
            )
        else:
            handler = route_endpoint(route)
            entry.update(
                {
                    "kind": "websocket",
                    "summary": (inspect.getdoc(handler) or "").split("\n\n")[0],
                }
            )
        found.append(entry)
    return found


def build(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of what `app` serves."""
    svc = services(app)
    schemas = dict(openapi_schemas.SCHEMAS)
    for result in svc.plugins.hook.openapi_schemas():
        schemas.update(result or {})
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for path, route in walk(app.routes):
        if isinstance(route, Route):
            item = paths.setdefault(openapi_path(path), {})
            for method in sorted(route.methods or ["GET"]):
                if method == "HEAD" and "GET" in (route.methods or ()):
                    continue
                base = re.sub(r"[^A-Za-z0-9]+", "_", f"{method}_{openapi_path(path)}").strip("_")
                operation_id = base.lower()
                while operation_id in used_ids:
                    operation_id += "_"
                used_ids.add(operation_id)
                item[method.lower()] = operation(app, path, route, method, operation_id)
        elif isinstance(route, Mount):
            # A mounted ASGI app (static files): everything under its prefix.
            paths[openapi_path(path) + "/{path}"] = {
                "get": {
                    "operationId": re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_"),
                    "summary": f"Files under {path}",
                    "tags": ["core"],
                    "parameters": [
                        {
                            "name": "path",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "The file"}, "404": {"description": ""}},
                }
            }
    public_url = svc.settings.server.public_url
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "hitcircle",
            "version": _version(),
            "description": (
                "The osu! API (v1 and v2), OAuth, and this server's own routes, as the enabled "
                "plugins serve them. Realtime endpoints are under `x-websockets`; see /docs."
            ),
        },
        "servers": [{"url": public_url.rstrip("/")}] if public_url else [],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "password": {
                            "tokenUrl": "/oauth/token",
                            "scopes": dict.fromkeys(sorted(SCOPES), ""),
                        },
                        "clientCredentials": {
                            "tokenUrl": "/oauth/token",
                            "scopes": dict.fromkeys(sorted(SCOPES), ""),
                        },
                    },
                }
            },
        },
        "x-websockets": websockets(app),
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hitcircle")
    except PackageNotFoundError:
        return "0"
