"""The `user_reports` table (osu-web app/Models/UserReport.php, `osu_user_reports`) and its SQL.

Reports are filed by players (`core.reports.filing`) and handled by moderators
(`core.moderation.queue`): open until resolved (acted on) or dismissed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from databases import Database

from core.db import as_row, as_rows, utcnow
from core.schema import TABLE_ARGS, metadata

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MAX_COMMENTS = 2000

user_reports = sa.Table(
    "user_reports",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column(
        "reporter_id",
        sa.BigInteger(),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # The owner of the reported object (the user, the score's player, the message's sender,
    # the beatmapset's creator).
    sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
    # osu-web morph names: user, solo_score, message, beatmapset, comment.
    sa.Column("reportable_type", sa.String(32), nullable=False),
    sa.Column("reportable_id", sa.BigInteger(), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("comments", sa.Text(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    # None while open; "resolved" or "dismissed" once a moderator handled it.
    sa.Column("resolution", sa.String(16), nullable=True),
    sa.Column("resolved_by", sa.BigInteger(), nullable=True),
    sa.Column("resolved_at", sa.DateTime(), nullable=True),
    sa.Index("ix_user_reports_reportable", "reportable_type", "reportable_id", "reporter_id"),
    **TABLE_ARGS,
)


async def last_report_at(
    db: Database, reporter_id: int, reportable_type: str, reportable_id: int
) -> dt.datetime | None:
    """When this reporter last reported this object, if ever."""
    r = user_reports.c
    value = await db.fetch_val(
        sa.select(sa.func.max(r.created_at)).where(
            r.reportable_type == reportable_type,
            r.reportable_id == reportable_id,
            r.reporter_id == reporter_id,
        )
    )
    return value if isinstance(value, dt.datetime) else None


async def insert_report(
    db: Database,
    *,
    reporter_id: int,
    user_id: int,
    reportable_type: str,
    reportable_id: int,
    reason: str,
    comments: str,
) -> int:
    return int(
        await db.execute(
            user_reports.insert().values(
                reporter_id=reporter_id,
                user_id=user_id,
                reportable_type=reportable_type,
                reportable_id=reportable_id,
                reason=reason,
                comments=comments,
                created_at=utcnow(),
            )
        )
    )


async def get_report(db: Database, report_id: int) -> dict[str, Any] | None:
    row = as_row(await db.fetch_one(user_reports.select().where(user_reports.c.id == report_id)))
    return None if row is None else {str(k): row[k] for k in row.keys()}


RESOLUTIONS = ("resolved", "dismissed")


async def list_reports(
    db: Database, *, status: str = "open", before_id: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Newest first. `status`: open, resolved, dismissed or all."""
    query = user_reports.select()
    if status == "open":
        query = query.where(user_reports.c.resolution.is_(None))
    elif status in RESOLUTIONS:
        query = query.where(user_reports.c.resolution == status)
    if before_id is not None:
        query = query.where(user_reports.c.id < before_id)
    rows = as_rows(await db.fetch_all(query.order_by(user_reports.c.id.desc()).limit(limit)))
    return [{str(k): r[k] for k in r.keys()} for r in rows]


async def close_report(
    db: Database, report_id: int, resolution: str, resolved_by: int | None
) -> bool:
    """Mark an open report resolved or dismissed; False when it was not open."""
    result = await db.execute(
        user_reports.update()
        .where(user_reports.c.id == report_id, user_reports.c.resolution.is_(None))
        .values(resolution=resolution, resolved_by=resolved_by, resolved_at=utcnow())
    )
    return bool(result)
