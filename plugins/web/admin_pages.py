"""The admin pages under `/admin`: the reports queue, a user's moderation page, the audit log,
spotlights and the daily challenge pool.

For members of the `admin` group only: anyone else signed in gets the site's "not found" page
(the pages are not advertised), a visitor is sent to sign in. Every action calls the function
the admin API (`plugins.admin`) and the command line call (`core.moderation`,
`core.spotlights.making`, `core.daily_challenge.pool`) after reading the form with the API's
readers (`core.moderation.inputs`), so the same rules apply and the same audit entries are
written. A refusal is shown in place with the API's message and status; a done action
redirects (POST-redirect-GET) with a notice.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response

from core.chat import service as chat
from core.daily_challenge import pool
from core.daily_challenge import store as dc_db
from core.http import ApiError, Params, params
from core.moderation import audit, identity, inputs, queue, recognition, sanctions
from core.moderation import store as moderation_db
from core.moderation.audit import Actor, ModerationError
from core.moderation.views import user_group
from core.reports import store as reports_db
from core.scores.scoring import RULESETS
from core.services import services
from core.spotlights import making
from core.spotlights import store as spotlights_db
from core.users import store as users_db
from plugins.web import accounts
from plugins.web.render import not_found, page, redirect, viewer

PAGE_SIZE = 50
Errors = dict[str, list[str]]

# What the notice says after a redirect (`?done=action`).
DONE = {
    "silence": "Silenced.",
    "unsilence": "Silence lifted.",
    "restrict": "Restricted.",
    "ban": "Banned.",
    "unrestrict": "Restriction lifted.",
    "group_add": "Added to the group.",
    "group_remove": "Removed from the group.",
    "supporter": "Supporter status changed.",
    "resolve": "Report resolved.",
    "dismiss": "Report dismissed.",
    "spotlight_create": "Spotlight created.",
    "spotlight_add_set": "Beatmapset added to the spotlight.",
    "pool_add": "Map queued.",
    "pool_remove": "Map removed from the pool.",
}


async def _admin(request: Request) -> Actor | Response:
    """The signed-in admin as the actor, or the response for anyone else."""
    me = await viewer(request)
    if me is None:
        return redirect(request, f"/login?next={quote(request.url.path)}")
    actor = await audit.actor_for(services(request).db, me)
    if not actor.is_admin:
        return await not_found(request)
    return actor


def _refusal(exc: ModerationError | ApiError) -> tuple[str, int]:
    """(message, status) of a refused action, from the core's error or a parameter reader's."""
    if isinstance(exc, ModerationError):
        return str(exc), exc.status
    body = exc.body if isinstance(exc.body, dict) else {}
    return str(body.get("error") or "That did not work."), exc.status


def _notice(p: Params) -> str | None:
    done = p.get("done")
    return DONE.get(done) if isinstance(done, str) else None


async def _names(request: Request, ids: set[int]) -> dict[int, str]:
    rows = await users_db.get_users(services(request).db, sorted(ids))
    return {int(r["id"]): str(r["username"]) for r in rows}


async def _render(
    request: Request,
    template: str,
    context: dict[str, Any],
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    context.setdefault("notice", None)
    context.setdefault("values", {})
    context["errors"] = errors or {}
    return await page(request, f"admin/{template}", context, status, form=True)


# --- the index and finding a user --------------------------------------------------------------


async def _index(request: Request, errors: Errors | None = None, status: int = 200) -> Response:
    db = services(request).db
    open_reports = await reports_db.list_reports(db, status="open", before_id=None, limit=100)
    context = {"open_reports": len(open_reports), "many": len(open_reports) == 100}
    return await _render(request, "index.html", context, errors, status)


async def index(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    return await _index(request)


async def find_user(request: Request) -> Response:
    """`/admin/users?user=NAME`: that user's moderation page."""
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    p = await params(request)
    raw = p.get("user")
    try:
        target = await inputs.target(
            services(request).db, raw.strip() if isinstance(raw, str) else ""
        )
    except ModerationError as exc:
        return await _index(request, {"user": [str(exc)]}, exc.status)
    return redirect(request, f"/admin/users/{target['id']}")


# --- a user's moderation page ------------------------------------------------------------------


async def _user_page(
    request: Request,
    target: dict[str, Any],
    errors: Errors | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    db = services(request).db
    uid = int(target["id"])
    memberships = [user_group(m) for m in (await moderation_db.memberships(db, [uid]))[uid]]
    entries = await moderation_db.log_entries(db, user_id=uid, limit=10)
    context = {
        "target": target,
        "silenced": chat.is_silenced(target),
        "memberships": memberships,
        "groups": await moderation_db.all_groups(db),
        "rulesets": RULESETS,
        "entries": entries,
        "names": await _names(request, {int(e["actor_id"]) for e in entries if e["actor_id"]}),
        "notice": _notice(await params(request)) if not errors else None,
        "values": values or {},
    }
    return await _render(request, "user.html", context, errors, status)


async def _target_or_404(request: Request) -> dict[str, Any] | None:
    try:
        return await inputs.target(services(request).db, request.path_params["user"])
    except ModerationError:
        return None


async def user_page(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    target = await _target_or_404(request)
    if target is None:
        return await not_found(request, "user")
    return await _user_page(request, target)


async def _user_action(
    request: Request, actor: Actor, target: dict[str, Any], action: str, form: Params
) -> None:
    svc = services(request)
    if action == "silence":
        seconds = audit.parse_duration(form.get("duration"))
        reason = inputs.reason(form, required=True)
        await sanctions.silence(svc, actor, target, seconds, reason)
    elif action == "unsilence":
        await sanctions.unsilence(svc, actor, target, inputs.reason(form, required=False))
    elif action == "restrict":
        await sanctions.restrict(svc, actor, target, inputs.reason(form, required=True))
    elif action == "ban":
        await sanctions.ban(svc, actor, target, inputs.reason(form, required=True))
    elif action == "unrestrict":
        await sanctions.unrestrict(svc, actor, target, inputs.reason(form, required=False))
    elif action == "group_add":
        await identity.add_to_group(
            svc,
            actor,
            target,
            inputs.text(form, "group", max_length=64),
            playmodes=inputs.playmodes(form),
            probationary=bool(form.bool("probationary", False)),
            reason=inputs.reason(form, required=False),
        )
    elif action == "group_remove":
        group = inputs.text(form, "group", max_length=64)
        await identity.remove_from_group(svc, actor, target, group)
    elif action == "supporter":
        await recognition.set_supporter(svc, actor, target, inputs.supporter(form))
    else:
        raise ModerationError("Unknown action.")


async def user_submit(request: Request) -> Response:
    form = await accounts.checked_form(request)
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    target = await _target_or_404(request)
    if target is None:
        return await not_found(request, "user")
    raw = form.get("action")
    action = raw if isinstance(raw, str) and raw in DONE else "form"
    try:
        await _user_action(request, gate, target, action, form)
    except (ModerationError, ApiError) as exc:
        message, status = _refusal(exc)
        values = {k: form.get(k) for k in ("duration", "reason") if isinstance(form.get(k), str)}
        return await _user_page(request, target, {action: [message]}, status, {action: values})
    return redirect(request, f"/admin/users/{target['id']}?done={action}")


# --- reports -----------------------------------------------------------------------------------


async def _reports_page(
    request: Request, actor: Actor, errors: Errors | None = None, status: int = 200
) -> Response:
    p = await params(request)
    shown = p.get("status")
    shown = shown if isinstance(shown, str) and shown in queue.STATUSES else "open"
    page_errors = dict(errors or {})
    try:
        before = p.int("before", minimum=1)
    except ApiError as exc:
        page_errors["filter"] = [_refusal(exc)[0]]
        before, status = None, exc.status
    reports = await queue.list_reports(services(request), actor, shown, before, PAGE_SIZE)
    ids = {r["reporter_id"] for r in reports} | {r["user_id"] for r in reports}
    older = None
    if len(reports) == PAGE_SIZE:
        older = "?" + urlencode({"status": shown, "before": reports[-1]["id"]})
    context = {
        "reports": reports,
        "names": await _names(request, ids),
        "status": shown,
        "statuses": queue.STATUSES,
        "older": older,
        "notice": None if errors else _notice(p),
    }
    return await _render(request, "reports.html", context, page_errors, status)


async def reports(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    return await _reports_page(request, gate)


async def report_submit(request: Request) -> Response:
    form = await accounts.checked_form(request)
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    raw = form.get("action")
    action = raw if raw in ("resolve", "dismiss") else None
    try:
        if action is None:
            raise ModerationError("Unknown action.")
        report_id = inputs.object_id(request.path_params["report"], "UserReport")
        resolution = "resolved" if action == "resolve" else "dismissed"
        await queue.close(services(request), gate, report_id, resolution, inputs.note(form))
    except ModerationError as exc:
        message, status = _refusal(exc)
        return await _reports_page(request, gate, {"report": [message]}, status)
    return redirect(request, f"/admin/reports?done={action}")


# --- the audit log -----------------------------------------------------------------------------


async def audit_log(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    db = services(request).db
    p = await params(request)
    errors: Errors = {}
    user_id: int | None = None
    action: str | None = None
    before: int | None = None
    raw_user = p.get("user")
    try:
        if isinstance(raw_user, str) and raw_user.strip():
            user_id = int((await inputs.target(db, raw_user.strip()))["id"])
        action = inputs.text(p, "action", max_length=32)
        before = p.int("before", minimum=1)
    except (ModerationError, ApiError) as exc:
        errors["filter"] = [_refusal(exc)[0]]
    entries = []
    if not errors:
        entries = await moderation_db.log_entries(
            db, user_id=user_id, action=action, before_id=before, limit=PAGE_SIZE
        )
    ids = {int(e["user_id"]) for e in entries if e["user_id"]}
    ids |= {int(e["actor_id"]) for e in entries if e["actor_id"]}
    older = None
    if len(entries) == PAGE_SIZE:
        query = {"user": raw_user or "", "action": action or "", "before": entries[-1]["id"]}
        older = "?" + urlencode({k: v for k, v in query.items() if v})
    context = {
        "entries": [audit.entry_json(e) for e in entries],
        "names": await _names(request, ids),
        "older": older,
        "newest": before is not None,
        "values": {"user": raw_user or "", "action": action or ""},
    }
    return await _render(request, "audit.html", context, errors, 422 if errors else 200)


# --- spotlights --------------------------------------------------------------------------------


async def _spotlights_page(
    request: Request,
    errors: Errors | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    db = services(request).db
    context = {
        "spotlights": await spotlights_db.listing(db),
        "counts": await spotlights_db.set_counts(db),
        "types": spotlights_db.TYPES,
        "notice": None if errors else _notice(await params(request)),
        "values": values or {},
    }
    return await _render(request, "spotlights.html", context, errors, status)


async def spotlights(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    return await _spotlights_page(request)


async def _spotlight_action(request: Request, actor: Actor, action: str, form: Params) -> None:
    if action == "spotlight_create":
        await making.create(
            services(request),
            actor,
            name=form.get("name"),
            type=form.get("type"),
            start=form.get("start"),
            end=form.get("end"),
            mode_specific=bool(form.bool("mode_specific", False)),
        )
    elif action == "spotlight_add_set":
        spotlight_id = form.int("spotlight_id")
        set_id = form.int("beatmapset_id")
        if spotlight_id is None or set_id is None:
            raise ModerationError("Choose a spotlight and enter a beatmapset id.")
        await making.add_set(request.app, actor, spotlight_id, set_id)
    else:
        raise ModerationError("Unknown action.")


async def spotlight_submit(request: Request) -> Response:
    form = await accounts.checked_form(request)
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    raw = form.get("action")
    action = raw if raw in ("spotlight_create", "spotlight_add_set") else "form"
    try:
        await _spotlight_action(request, gate, action, form)
    except (ModerationError, ApiError) as exc:
        message, status = _refusal(exc)
        fields = ("name", "type", "start", "end", "spotlight_id", "beatmapset_id")
        values = {k: v for k in fields if isinstance(v := form.get(k), str)}
        return await _spotlights_page(request, {action: [message]}, status, values)
    return redirect(request, f"/admin/spotlights?done={action}")


# --- the daily challenge pool ------------------------------------------------------------------


async def _pool_page(
    request: Request,
    errors: Errors | None = None,
    status: int = 200,
    values: dict[str, Any] | None = None,
) -> Response:
    rows = await dc_db.entries(services(request).db, include_used=True)
    context = {
        "queued": [r for r in rows if r["used_on"] is None],
        # The most recent days first.
        "used": sorted((r for r in rows if r["used_on"] is not None), key=lambda r: -r["id"])[:30],
        "rulesets": RULESETS,
        "notice": None if errors else _notice(await params(request)),
        "values": values or {},
    }
    return await _render(request, "daily_challenge.html", context, errors, status)


async def daily_challenge(request: Request) -> Response:
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    return await _pool_page(request)


async def _pool_action(request: Request, actor: Actor, action: str, form: Params) -> None:
    if action == "pool_add":
        beatmap_id = form.int("beatmap_id")
        if beatmap_id is None:
            raise ModerationError("beatmap_id is required")
        ruleset_id = form.int("ruleset_id")  # 0-3, checked as the CLI's is (check_item)
        required = inputs.text(form, "required", max_length=pool.MAX_MODS_TEXT) or ""
        allowed = inputs.text(form, "allowed", max_length=pool.MAX_MODS_TEXT) or ""
        await pool.add(request.app, actor, beatmap_id, ruleset_id, required, allowed)
    elif action == "pool_remove":
        entry_id = form.int("entry_id")
        if entry_id is None:
            raise ModerationError("entry_id is required")
        await pool.remove(request.app, actor, entry_id)
    else:
        raise ModerationError("Unknown action.")


async def daily_challenge_submit(request: Request) -> Response:
    form = await accounts.checked_form(request)
    gate = await _admin(request)
    if isinstance(gate, Response):
        return gate
    raw = form.get("action")
    action = raw if raw in ("pool_add", "pool_remove") else "form"
    try:
        await _pool_action(request, gate, action, form)
    except (ModerationError, ApiError) as exc:
        message, status = _refusal(exc)
        fields = ("beatmap_id", "ruleset_id", "required", "allowed")
        values = {k: v for k in fields if isinstance(v := form.get(k), str)}
        return await _pool_page(request, {action: [message]}, status, values)
    return redirect(request, f"/admin/daily-challenge?done={action}")
