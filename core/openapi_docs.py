"""`/openapi.json`, and `/docs`: the document rendered as one self-contained HTML page.

The page is built on the server from the same document, with its stylesheet inline: it loads
nothing from elsewhere, so it works on a machine without internet. `/docs/realtime` holds the
protocol notes of the hubs and the notification websocket.
"""

from __future__ import annotations

import html
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from core import openapi

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;display:flex;color:#222}
nav{width:17rem;height:100vh;overflow:auto;position:sticky;top:0;background:#f4f4f6;padding:1rem;
box-sizing:border-box;font-size:13px}
nav a{display:block;color:#345;text-decoration:none;padding:1px 0}
main{flex:1;padding:1rem 2rem;max-width:70rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:bold;font-family:monospace}
.get{color:#17a}.post{color:#283}.put,.patch{color:#a60}.delete{color:#b22}
code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f7f7f7;padding:.5rem;overflow:auto}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #ddd;padding:2px 8px;
text-align:left;vertical-align:top}
.meta{color:#666;font-size:13px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _schema_text(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'
    parts = [str(schema.get("type", "any"))]
    for key in ("minimum", "maximum", "maxLength", "maxItems", "pattern", "enum"):
        if key in schema:
            parts.append(f"{key} {schema[key]}")
    return _e(", ".join(parts))


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [f'<div class="op" id="{_e(op["operationId"])}">']
    out.append(
        f'<div><span class="m {method}">{method.upper()}</span><code>{_e(path)}</code></div>'
    )
    out.append(f"<p>{_e(op.get('summary', ''))}</p>")
    meta = []
    if "x-scope" in op:
        meta.append(f"scope <code>{_e(op['x-scope'])}</code>")
    elif op.get("security") == [{}, {"oauth2": []}]:
        meta.append("token optional")
    if "x-rate-limit" in op:
        meta.append(f"rate limit {_e(op['x-rate-limit']['limit'])}")
    if meta:
        out.append(f'<div class="meta">{" · ".join(meta)}</div>')
    params = op.get("parameters", [])
    body = op.get("requestBody", {}).get("content", {})
    if body:
        schema = next(iter(body.values()))["schema"]
        params = params + [
            {"name": name, "in": "body", "schema": prop}
            for name, prop in schema.get("properties", {}).items()
        ]
    if params:
        out.append("<table><tr><th>parameter</th><th>in</th><th>schema</th></tr>")
        for p in params:
            out.append(
                f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
                f"<td>{_schema_text(p.get('schema', {}))}</td></tr>"
            )
        out.append("</table>")
    if body:
        out.append(f'<div class="meta">body as {_e(", ".join(body))}</div>')
    rows = []
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {})
        shown = ", ".join(
            f"{_e(kind)} {_schema_text(entry.get('schema', {}))}" for kind, entry in content.items()
        )
        rows.append(
            f"<tr><td>{_e(status)}</td><td>{_e(response['description'])}</td><td>{shown}</td></tr>"
        )
    out.append("<table><tr><th>status</th><th></th><th>body</th></tr>" + "".join(rows) + "</table>")
    out.append("</div>")
    return "".join(out)


def render(doc: dict[str, Any]) -> str:
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            by_tag.setdefault(op["tags"][0], []).append((path, method, op))
    nav = ['<a href="#realtime"><b>Realtime (hubs, websocket)</b></a>']
    body = [
        "<h1>hitcircle API</h1>",
        f"<p>{_e(doc['info']['description'])} The machine-readable document: "
        '<a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1). Tokens: '
        "<code>POST /oauth/token</code>; send <code>Authorization: Bearer …</code>. Request "
        "bodies are accepted as JSON, form or multipart alike.</p>",
    ]
    for tag in sorted(by_tag):
        nav.append(f'<a href="#tag-{_e(tag)}"><b>{_e(tag)}</b></a>')
        body.append(f'<h2 id="tag-{_e(tag)}">{_e(tag)}</h2>')
        for path, method, op in by_tag[tag]:
            nav.append(f'<a href="#{_e(op["operationId"])}">{_e(method.upper())} {_e(path)}</a>')
            body.append(_operation(path, method, op))
    body.append('<h2 id="realtime">Realtime</h2>')
    body.append(
        '<p>Protocol notes: <a href="/docs/realtime">/docs/realtime</a>. Endpoints served:</p>'
    )
    for ws in doc.get("x-websockets", []):
        body.append(f'<div class="op"><code>{_e(ws["path"])}</code> ({_e(ws["kind"])})')
        body.append(f"<p>{_e(ws.get('summary', ''))}</p>")
        if ws["kind"] == "signalr":
            body.append(
                f'<div class="meta">scope <code>{_e(ws["scope"])}</code> · negotiate '
                f"<code>POST {_e(ws['negotiate'])}</code></div>"
                f"<p>methods: {_e(', '.join(ws['methods']))}</p>"
                f"<p>callbacks: {_e(', '.join(ws['callbacks']))}</p>"
            )
        body.append("</div>")
    nav.append('<a href="#schemas"><b>Schemas</b></a>')
    body.append('<h2 id="schemas">Schemas</h2>')
    for name, schema in doc["components"]["schemas"].items():
        text = orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode()
        body.append(f'<h3 id="schema-{_e(name)}">{_e(name)}</h3><pre>{_e(text)}</pre>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>hitcircle API</title>'
        f"<style>{STYLE}</style></head><body><nav>{''.join(nav)}</nav>"
        f"<main>{''.join(body)}</main></body></html>"
    )


REALTIME = """
<h1>Realtime protocols</h1>
<p><a href="/docs">Back to the API reference</a></p>
<h2>SignalR hubs (<code>/signalr/{hub}</code>)</h2>
<p>The hubs lazer connects to: <code>spectator</code>, <code>multiplayer</code>,
<code>metadata</code> (osu.Game/Online/Spectator, Multiplayer and Metadata in ppy/osu).</p>
<ol>
<li><code>POST /signalr/{hub}/negotiate?negotiateVersion=1</code> with
<code>Authorization: Bearer &lt;token&gt;</code>: answers a <code>connectionToken</code> and the
WebSockets transport. The token needs the hub's scope (<code>*</code>, lazer's own).</li>
<li>Open the WebSocket <code>/signalr/{hub}?id=&lt;connectionToken&gt;</code> (the token again in
<code>Authorization</code> or <code>access_token</code>).</li>
<li>Handshake: the JSON text <code>{"protocol":"messagepack","version":1}</code> followed by the
record separator <code>0x1e</code>; the server answers <code>{}</code><code>0x1e</code>. The
<code>json</code> protocol is served too.</li>
<li>Then SignalR's hub protocol: Invocation (1), StreamItem (2), Completion (3), Ping (6),
Close (7), each MessagePack message prefixed by its varint length. Client methods and server
callbacks are listed per hub on <a href="/docs#realtime">/docs</a>; their arguments are lazer's
MessagePack-serialised models (the <code>[Key(n)]</code> attributes in ppy/osu).</li>
</ol>
<h2>Notification websocket (<code>/notifications/feed</code>)</h2>
<p>lazer's chat and notification socket (osu.Game/Online/Notifications/WebSocket in ppy/osu). Open
it with <code>Authorization: Bearer &lt;token&gt;</code> (scope <code>*</code> or
<code>chat.read</code>). Frames are JSON text:</p>
<ul>
<li>client to server: <code>{"event":"chat.start"}</code> to receive chat messages,
<code>{"event":"chat.end"}</code> to stop;</li>
<li>server to client: <code>{"event":"chat.message.new","data":{"messages":[...],
"users":[...]}}</code>, <code>chat.channel.join</code>, <code>chat.channel.part</code>,
<code>new</code> (a notification), <code>read</code>, and <code>{"error":...}</code>.</li>
</ul>
<p>A user holds a bounded number of sockets; one more is closed with 1013 (try again later).</p>
"""


def realtime_page() -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>hitcircle realtime protocols</title><style>{STYLE}</style></head>"
        f"<body><main>{REALTIME}</main></body></html>"
    )


def document(app: Any) -> dict[str, Any]:
    """The app's document, built once (its routes do not change while it serves)."""
    built: dict[str, Any] | None = getattr(app.state, "openapi", None)
    if built is None:
        built = app.state.openapi = openapi.build(app)
    return built


@openapi.describe(
    responses={200: {"type": "object", "required": ["openapi", "info", "paths", "components"]}}
)
async def openapi_json(request: Request) -> Response:
    """This server's OpenAPI 3.1 document."""
    return Response(orjson.dumps(document(request.app)), media_type="application/json")


async def docs(request: Request) -> Response:
    """The API reference, rendered from the OpenAPI document."""
    return HTMLResponse(render(document(request.app)))


async def realtime(request: Request) -> Response:
    """The hub and notification websocket protocol notes."""
    return HTMLResponse(realtime_page())
