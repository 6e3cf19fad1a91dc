"""The reports queue: what players reported (`core.reports`), listed for moderators, who
resolve a report (something was done) or dismiss it (nothing to do)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.http import in_int64, time_offset
from core.moderation.audit import Actor, ModerationError, record, require
from core.reports import store as reports_db
from core.services import Services

STATUSES = ("open", "resolved", "dismissed", "all")


def report_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": int(row["id"]),
        "reporter_id": int(row["reporter_id"]),
        "user_id": int(row["user_id"]),
        "reportable_type": row["reportable_type"],
        "reportable_id": int(row["reportable_id"]),
        "reason": row["reason"],
        "comments": row["comments"],
        "created_at": time_offset(row["created_at"]),
        "status": row["resolution"] or "open",
        "resolved_by": row["resolved_by"],
        "resolved_at": time_offset(row["resolved_at"]),
    }


async def list_reports(
    svc: Services, actor: Actor, status: str, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    require(actor, "report_list")
    if status not in STATUSES:
        raise ModerationError(f"status must be one of {', '.join(STATUSES)}")
    rows = await reports_db.list_reports(svc.db, status=status, before_id=before_id, limit=limit)
    return [report_json(r) for r in rows]


async def close(
    svc: Services, actor: Actor, report_id: int, resolution: str, note: str | None
) -> dict[str, Any]:
    """Resolve or dismiss an open report."""
    action = "report_resolve" if resolution == "resolved" else "report_dismiss"
    require(actor, action)
    report = await reports_db.get_report(svc.db, report_id) if in_int64(report_id) else None
    if report is None:
        raise ModerationError("Specified UserReport couldn't be found.", 404)
    if report["resolution"] is not None:
        raise ModerationError(f"This report was {report['resolution']} already.")
    if not await reports_db.close_report(svc.db, report_id, resolution, actor.user_id):
        raise ModerationError("This report was handled already.")
    return await record(
        svc.db,
        actor,
        action,
        user_id=int(report["user_id"]),
        reason=note,
        report_id=report_id,
        reportable_type=report["reportable_type"],
        reportable_id=int(report["reportable_id"]),
    )
