"""Beatmapset search (`GET /beatmapsets/search`) in SQL: filters, sorts and keyset cursors.

osu-web searches Elasticsearch; here the same parameters become one SQL query. `relevance` has no
text score to sort by, so it orders like `ranked` (newest first); every sort breaks ties by id, and
the cursor holds the sort value and the id of the last row, as osu-web's does.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from core.beatmaps.store import STATUS_IDS, beatmaps, beatmapset_favourites, beatmapsets
from core.http import Params, decode_cursor, parse_bool

PAGE_SIZE = 50
MAX_QUERY = 500

CATEGORIES: dict[str, tuple[int, ...] | None] = {
    "any": None,
    "leaderboard": (1, 2, 4),
    "ranked": (1, 2),
    "qualified": (3,),
    "loved": (4,),
    "pending": (0,),
    "wip": (-1,),
    "graveyard": (-2,),
    "favourites": None,
    "mine": None,
}
LEGACY_CATEGORIES = {
    "0": "ranked",
    "2": "favourites",
    "3": "qualified",
    "4": "pending",
    "5": "graveyard",
    "6": "mine",
    "7": "any",
    "8": "loved",
}
SORT_FIELDS = (
    "artist",
    "creator",
    "difficulty",
    "favourites",
    "nominations",
    "plays",
    "ranked",
    "rating",
    "relevance",
    "title",
    "updated",
)

_MAX_DIFFICULTY = (
    sa.select(sa.func.max(beatmaps.c.difficulty_rating))
    .where(beatmaps.c.beatmapset_id == beatmapsets.c.id, beatmaps.c.deleted_at.is_(None))
    .scalar_subquery()
)
_RANKED = sa.func.coalesce(beatmapsets.c.ranked_date, beatmapsets.c.last_updated)
# Sort expression and the cursor key osu-web uses for it.
SORT_COLUMNS: dict[str, tuple[Any, str]] = {
    "artist": (beatmapsets.c.artist, "artist"),
    "creator": (beatmapsets.c.creator, "creator"),
    "difficulty": (_MAX_DIFFICULTY, "difficultyrating"),
    "favourites": (beatmapsets.c.favourite_count, "favourite_count"),
    "nominations": (beatmapsets.c.favourite_count, "nominations"),
    "plays": (beatmapsets.c.play_count, "play_count"),
    "ranked": (_RANKED, "approved_date"),
    "rating": (beatmapsets.c.rating, "rating"),
    "relevance": (_RANKED, "_score"),
    "title": (beatmapsets.c.title, "title"),
    "updated": (beatmapsets.c.last_updated, "last_update"),
}
DATE_SORTS = frozenset({"ranked", "relevance", "updated"})

# key=value filters of the query text (osu-web BeatmapsetQueryParser), by the column they test.
MAP_FILTERS = {
    "ar": beatmaps.c.ar,
    "cs": beatmaps.c.cs,
    "od": beatmaps.c.accuracy,
    "dr": beatmaps.c.drain,
    "hp": beatmaps.c.drain,
    "bpm": beatmaps.c.bpm,
    "stars": beatmaps.c.difficulty_rating,
    "star": beatmaps.c.difficulty_rating,
    "difficulty": beatmaps.c.difficulty_rating,
    "sr": beatmaps.c.difficulty_rating,
    "length": beatmaps.c.hit_length,
    "circles": beatmaps.c.count_circles,
    "sliders": beatmaps.c.count_sliders,
    "keys": beatmaps.c.cs,
}
TEXT_FILTERS = {
    "artist": (beatmapsets.c.artist, beatmapsets.c.artist_unicode),
    "title": (beatmapsets.c.title, beatmapsets.c.title_unicode),
    "creator": (beatmapsets.c.creator,),
    "source": (beatmapsets.c.source,),
    "tag": (beatmapsets.c.tags,),
}
IGNORED_FILTERS = frozenset({"created", "ranked", "updated", "featured_artist"})
_FILTER = re.compile(r"^([a-z_]+)(<=|>=|=|:|<|>)(.+)$")


class SearchError(ValueError):
    pass


@dataclass
class SearchQuery:
    text: list[str] = field(default_factory=list)
    map_filters: list[tuple[str, str, float]] = field(default_factory=list)
    text_filters: list[tuple[str, str]] = field(default_factory=list)
    status_filter: int | None = None
    favourites_filter: tuple[str, float] | None = None
    ruleset: int | None = None
    converts: bool = False
    category: str = "leaderboard"
    genre: int | None = None
    language: int | None = None
    video: bool = False
    storyboard: bool = False
    nsfw: bool = False
    sort_field: str = "ranked"
    sort_desc: bool = True
    cursor: dict[str, Any] | None = None

    @property
    def sort(self) -> str:
        return f"{self.sort_field}_{'desc' if self.sort_desc else 'asc'}"


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().rstrip("s"))
    except ValueError:
        return None
    return value if abs(value) < 1e12 else None


def parse_text(query: SearchQuery, text: str) -> None:
    for token in text.split():
        match = _FILTER.match(token.lower())
        if match:
            key, op, value = match.groups()
            op = "=" if op == ":" else op
            value = value.strip('"')
            if key in MAP_FILTERS and (number := _number(value)) is not None:
                query.map_filters.append((key, op, number))
                continue
            if key in TEXT_FILTERS and op == "=":
                query.text_filters.append((key, value))
                continue
            if key == "status" and op == "=":
                if value in STATUS_IDS:
                    query.status_filter = STATUS_IDS[value]
                continue
            if key == "favourites" and (number := _number(value)) is not None:
                query.favourites_filter = (op, number)
                continue
            if key in IGNORED_FILTERS:
                continue
        query.text.append(token.lower())


def _compare(column: Any, op: str, value: Any) -> Any:
    if op == "=":
        # Values like 9.5 match the rounded display, as osu-web's range filter does.
        if isinstance(value, float):
            return sa.and_(column >= value - 0.05, column < value + 0.05)
        return column == value
    return {"<": column < value, "<=": column <= value, ">": column > value, ">=": column >= value}[
        op
    ]


def _like(column: Any, term: str) -> Any:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return sa.func.lower(column).like(f"%{escaped}%", escape="\\")


def build_where(query: SearchQuery, user_id: int | None) -> list[Any]:
    where: list[Any] = [beatmapsets.c.deleted_at.is_(None)]
    statuses = CATEGORIES.get(query.category, CATEGORIES["leaderboard"])
    if query.status_filter is not None:
        statuses = (query.status_filter,)
    if statuses is not None:
        where.append(beatmapsets.c.status.in_(statuses))
    if query.category == "favourites":
        if user_id is None:
            where.append(sa.false())
        else:
            where.append(
                beatmapsets.c.id.in_(
                    sa.select(beatmapset_favourites.c.beatmapset_id).where(
                        beatmapset_favourites.c.user_id == user_id
                    )
                )
            )
    if query.category == "mine":
        where.append(beatmapsets.c.user_id == (user_id if user_id is not None else -1))
    if not query.nsfw:
        where.append(beatmapsets.c.nsfw.is_(False))
    if query.genre is not None:
        where.append(beatmapsets.c.genre_id == query.genre)
    if query.language is not None:
        where.append(beatmapsets.c.language_id == query.language)
    if query.video:
        where.append(beatmapsets.c.video.is_(True))
    if query.storyboard:
        where.append(beatmapsets.c.storyboard.is_(True))
    if query.favourites_filter is not None:
        op, value = query.favourites_filter
        where.append(_compare(beatmapsets.c.favourite_count, op, int(value)))
    for key, text in query.text_filters:
        where.append(sa.or_(*(_like(column, text) for column in TEXT_FILTERS[key])))
    map_conditions: list[Any] = [
        beatmaps.c.beatmapset_id == beatmapsets.c.id,
        beatmaps.c.deleted_at.is_(None),
    ]
    if query.ruleset is not None:
        modes = [query.ruleset, 0] if query.converts and query.ruleset != 0 else [query.ruleset]
        map_conditions.append(beatmaps.c.mode.in_(modes))
    for key, op, value in query.map_filters:
        map_conditions.append(_compare(MAP_FILTERS[key], op, value))
    if len(map_conditions) > 2:
        where.append(sa.exists(sa.select(beatmaps.c.id).where(*map_conditions)))
    for term in query.text:
        set_match = [
            _like(column, term)
            for column in (
                beatmapsets.c.artist,
                beatmapsets.c.artist_unicode,
                beatmapsets.c.title,
                beatmapsets.c.title_unicode,
                beatmapsets.c.creator,
                beatmapsets.c.source,
                beatmapsets.c.tags,
            )
        ]
        version_match = sa.exists(
            sa.select(beatmaps.c.id).where(
                beatmaps.c.beatmapset_id == beatmapsets.c.id, _like(beatmaps.c.version, term)
            )
        )
        where.append(sa.or_(*set_match, version_match))
    return where


def _cursor_condition(query: SearchQuery) -> Any | None:
    cursor = query.cursor
    if not cursor:
        return None
    expression, key = SORT_COLUMNS[query.sort_field]
    value = cursor.get(key)
    last_id = cursor.get("id")
    if value is None or isinstance(last_id, bool) or not isinstance(last_id, int):
        return None
    if query.sort_field in DATE_SORTS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        try:
            value = dt.datetime.fromtimestamp(value / 1000, dt.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    elif isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    if query.sort_desc:
        return sa.or_(expression < value, sa.and_(expression == value, beatmapsets.c.id < last_id))
    return sa.or_(expression > value, sa.and_(expression == value, beatmapsets.c.id > last_id))


def _cursor_value(query: SearchQuery, value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return int(value.replace(tzinfo=dt.UTC).timestamp() * 1000)
    return value


async def run(
    db: Any, query: SearchQuery, user_id: int | None, limit: int = PAGE_SIZE
) -> tuple[list[Mapping[str, Any]], int, dict[str, Any] | None]:
    """Rows of one page, the total count and the cursor of the next page (None at the end)."""
    where = build_where(query, user_id)
    total = await db.fetch_val(sa.select(sa.func.count()).select_from(beatmapsets).where(*where))
    expression, key = SORT_COLUMNS[query.sort_field]
    page_where = list(where)
    condition = _cursor_condition(query)
    if condition is not None:
        page_where.append(condition)
    order = (
        [expression.desc(), beatmapsets.c.id.desc()]
        if query.sort_desc
        else [expression.asc(), beatmapsets.c.id.asc()]
    )
    statement = (
        sa.select(beatmapsets, expression.label("sort_value"))
        .where(*page_where)
        .order_by(*order)
        .limit(limit + 1)
    )
    rows = list(await db.fetch_all(statement))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = {key: _cursor_value(query, last["sort_value"]), "id": last["id"]}
    return rows, int(total or 0), next_cursor


def query_from_params(p: Params, has_text: bool) -> SearchQuery:
    """The search of osu-web's `GET /beatmapsets/search` parameters (q, m, s, c, e, g, l, nsfw,
    sort, cursor): the API's and the web site's search read them here."""
    query = SearchQuery()
    # Both read (each within its limit), so an overlong alias is refused beside a `q`.
    query_alias = p.str("query", max_length=MAX_QUERY)
    text = p.str("q", max_length=MAX_QUERY) or query_alias
    if text:
        parse_text(query, text)
    ruleset = p.get("m")
    if ruleset is not None:
        try:
            number = int(str(ruleset))
        except ValueError:
            number = -1
        query.ruleset = number if number in range(4) else None
    category = p.str("s", max_length=32) or "leaderboard"
    category = LEGACY_CATEGORIES.get(category, category)
    query.category = category if category in CATEGORIES else "leaderboard"
    general = (p.str("c", max_length=200) or "").split(".")
    query.converts = "converts" in general
    extras = (p.str("e", max_length=200) or "").split(".")
    query.video = "video" in extras
    query.storyboard = "storyboard" in extras
    for name in ("g", "l"):
        value = p.get(name)
        try:
            parsed = int(str(value)) if value is not None else None
        except ValueError:
            parsed = None
        if parsed is not None and 0 < parsed < 100:
            setattr(query, "genre" if name == "g" else "language", parsed)
    query.nsfw = parse_bool(p.get("nsfw")) or False
    sort = p.str("sort", max_length=40)
    field, _, direction = (sort or "").rpartition("_")
    if field in SORT_FIELDS and direction in ("asc", "desc"):
        query.sort_field, query.sort_desc = field, direction == "desc"
    elif has_text:
        query.sort_field, query.sort_desc = "relevance", True
    elif query.category in ("pending", "wip", "graveyard", "mine"):
        query.sort_field, query.sort_desc = "updated", True
    cursor = decode_cursor(p.str("cursor_string", max_length=1000))
    raw_cursor = p.get("cursor")
    if cursor is None and isinstance(raw_cursor, str):
        # aiosu sends its cursor_string as `cursor=`; osu-web would ignore it (no second page).
        cursor = decode_cursor(raw_cursor)
    if cursor is None:
        raw = p.dict("cursor")
        cursor = {k: _cursor_scalar(v) for k, v in raw.items()} if raw else None
    query.cursor = cursor
    return query


def _cursor_scalar(value: object) -> object:
    if isinstance(value, str):
        for cast in (int, float):
            try:
                return cast(value)
            except ValueError:
                pass
    return value
