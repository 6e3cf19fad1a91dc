"""The three requests of lazer's BeatmapSubmissionScreen (osu.Game/Online/API/Requests/
PutBeatmapSetRequest.cs, ReplaceBeatmapPackageRequest.cs, PatchBeatmapPackageRequest.cs), answered
as ppy/osu-server-beatmap-submission's BeatmapSubmissionController answers them: 200 with
`{beatmapset_id, beatmap_ids, files}`, 204 for packages, 404 for an unknown set, 422 for another
mapper's or a ranked/loved set, 422 `{"error": ...}` for the rest."""

from __future__ import annotations

import asyncio
import hashlib
import io
import zipfile
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from core.auth import api_route, require_user
from core.beatmaps import archive
from core.beatmaps import store as beatmaps_db
from core.beatmaps.importer import REFUSALS, Importer
from core.beatmaps.resolve import invalidate
from core.db import duplicate_errors, utcnow
from core.http import ApiError, error, json, no_content, not_found, read_body, unprocessable
from core.openapi import describe
from core.openapi_schemas import BOOL, INT, STR, obj
from core.services import services
from core.users import events

from . import submission_settings

PREFIX = "/beatmap-submission"
# osu-server-beatmap-submission: "The beatmap set cannot contain more than 128 beatmaps."
MAX_BEATMAPS = 128
# The mapper's choice (PutBeatmapSetRequest.SubmissionTarget) and the status it gives.
TARGETS = {"wip": -1, "pending": 0}
# Sets the mapper can no longer change (osu-server-beatmap-submission: approved >= Ranked).
LOCKED = frozenset({1, 2, 3, 4})
# A graveyarded set comes back with the mapper's next PUT beatmapsets (it is revived).
GRAVEYARD = -2
ID_MAX = 2**31 - 1
# New ids are the next free ones; two requests at once may pick the same and one retries.
ID_ATTEMPTS = 3


def _forbidden() -> ApiError:
    # The official service answers Forbid(), an empty 403; lazer signs the player out on any
    # 403 (osu.Game/Online/API/APIAccess.cs, handleWebException), so the refusal is a 422 whose
    # message the editor shows.
    return error(422, "You are not allowed to modify this beatmap set.")


def _uint(value: Any, name: str, maximum: int = ID_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise unprocessable(f"{name} must be a whole number from 0 to {maximum}")
    return value


async def _json_body(request: Request) -> dict[str, Any]:
    body = await read_body(request)
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise unprocessable("malformed JSON body") from None
    if not isinstance(decoded, dict):
        raise unprocessable("the body must be a JSON object")
    return decoded


async def _editable_set(request: Request, set_id: int, user_id: int) -> Mapping[str, Any]:
    beatmapset = await beatmaps_db.beatmapset_by_id(services(request).db, set_id)
    if beatmapset is None:
        raise not_found("beatmap set")
    if int(beatmapset["user_id"]) != user_id or beatmapset["origin"] != "local":
        raise _forbidden()
    if int(beatmapset["status"]) in LOCKED:
        raise _forbidden()
    return beatmapset


def _files(data: bytes | None) -> list[dict[str, str]]:
    """The stored package's files with their SHA-256 (upper-case hex, as the official service
    writes them): lazer sends only the files whose hash differs."""
    if data is None:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return [
            {
                "filename": info.filename,
                "sha2_hash": hashlib.sha256(package.read(info)).hexdigest().upper(),
            }
            for info in package.infolist()
            if not info.is_dir()
        ]


# The JSON body is read whole (`_json_body`), not through `Params`: its fields, as lazer's
# PutBeatmapSetRequest sends them (ppy/osu osu.Game/Online/API/Requests/PutBeatmapSetRequest.cs).
@describe(
    responses={
        200: obj(
            {
                "beatmapset_id": INT,
                "beatmap_ids": {"type": "array", "items": INT},
                "files": {"type": "array", "items": obj({"filename": STR, "sha2_hash": STR})},
            }
        )
    },
    parameters={
        "beatmapset_id": {"type": ["integer", "null"], "minimum": 1},
        "beatmaps_to_create": {"type": "integer", "minimum": 0, "maximum": MAX_BEATMAPS},
        "beatmaps_to_keep": {"type": "array", "items": INT, "maxItems": MAX_BEATMAPS},
        "target": {"type": "string", "description": "WIP or Pending (any case)"},
        "notify_on_discussion_replies": BOOL,
    },
)
async def put_beatmapset(request: Request) -> Response:
    """PUT beatmapsets: a new set, or an existing one's difficulties to keep and to add."""
    user = require_user(request)
    user_id = int(user["id"])
    body = await _json_body(request)
    raw_set = body.get("beatmapset_id")
    set_id = None if raw_set is None else _uint(raw_set, "beatmapset_id")
    create = _uint(body.get("beatmaps_to_create", 0), "beatmaps_to_create", MAX_BEATMAPS)
    raw_keep = body.get("beatmaps_to_keep", [])
    if raw_keep is None:
        raw_keep = []
    if not isinstance(raw_keep, list) or len(raw_keep) > MAX_BEATMAPS:
        raise unprocessable(f"beatmaps_to_keep must be a list of at most {MAX_BEATMAPS} ids")
    keep = list(dict.fromkeys(_uint(v, "beatmaps_to_keep") for v in raw_keep))
    target = body.get("target", "Pending")
    if not isinstance(target, str) or target.lower() not in TARGETS:
        raise unprocessable("target must be WIP or Pending")
    status = TARGETS[target.lower()]
    svc = services(request)
    config = submission_settings(svc.settings)
    if set_id is None:
        if keep:
            raise unprocessable("Cannot specify beatmaps to keep when creating a new beatmap set.")
        quota = int(config["max_pending_sets"])
        if quota and await beatmaps_db.pending_set_count(svc.db, user_id) >= quota:
            raise unprocessable(
                f"You have exceeded your submission cap (you are currently allowed {quota} "
                "total unranked maps). Please finish the maps you currently have submitted."
            )
        stored: bytes | None = None
        members: set[int] = set()
        visible = revived = False
    else:
        beatmapset = await _editable_set(request, set_id, user_id)
        members = set(await beatmaps_db.submission_members(svc.db, set_id))
        if not set(keep) <= members:
            raise unprocessable("One of the beatmaps to keep does not belong to the specified set.")
        visible = beatmapset["deleted_at"] is None
        revived = int(beatmapset["status"]) == GRAVEYARD
        key = beatmapset["osz_key"]
        stored = await svc.storage.get(key) if key else None
    total = len(keep) + create
    if total < 1:
        raise unprocessable("The beatmap set must contain at least one beatmap.")
    if total > MAX_BEATMAPS:
        raise unprocessable(f"The beatmap set cannot contain more than {MAX_BEATMAPS} beatmaps.")
    for attempt in range(ID_ATTEMPTS):
        try:
            reserved = await beatmaps_db.reserve_submission(
                svc.db,
                set_id=set_id,
                user_id=user_id,
                username=str(user["username"]),
                status=status,
                keep=keep,
                create=create,
                first_id=int(config["first_id"]),
                now=utcnow(),
            )
            break
        except duplicate_errors():
            # Another request (or an import) took the same next ids first: take the next ones.
            if attempt == ID_ATTEMPTS - 1:
                raise
    set_id, new_ids = reserved
    if visible:
        # Its status or difficulties changed: cached views of the set and of each go.
        await invalidate(request.app, set_id, sorted(members))
        if revived:
            # osu-server-beatmap-submission broadcasts the revival of a graveyarded set.
            after = await beatmaps_db.beatmapset_by_id(svc.db, set_id)
            if after is not None:
                await events.beatmapset_revive(svc.db, user, after)
    return json(
        {
            "beatmapset_id": set_id,
            "beatmap_ids": new_ids + keep,
            "files": await asyncio.to_thread(_files, stored),
        }
    )


async def _form(request: Request) -> list[tuple[str, Any]]:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    # lazer sends multipart; a PATCH that only deletes files may come as a plain form.
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise unprocessable("expected a multipart/form-data body")
    await read_body(request)
    try:
        form = await request.form(
            max_files=archive.MAX_ENTRIES,
            max_fields=archive.MAX_ENTRIES,
            max_part_size=1024 * 1024,
        )
    except ApiError:
        raise
    except Exception:
        raise unprocessable("malformed form body") from None
    pairs: list[tuple[str, Any]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            pairs.append((name, (value.filename or "", await value.read())))
            await value.close()
        else:
            pairs.append((name, str(value)))
    return pairs


async def _store_package(
    request: Request, beatmapset: Mapping[str, Any], user: Mapping[str, Any], data: bytes
) -> None:
    """Check and store a whole package; the mapper's event: an upload, then updates."""
    svc = services(request)
    set_id = int(beatmapset["id"])
    members = set(await beatmaps_db.submission_members(svc.db, set_id))
    importer = Importer(
        request.app,
        beatmaps_db.STATUS_NAMES[int(beatmapset["status"])],
        int(submission_settings(svc.settings)["first_id"]),
    )
    try:
        await importer.submit(data, set_id, members, user)
    except REFUSALS as exc:
        raise unprocessable(str(exc)) from None
    after = await beatmaps_db.beatmapset_by_id(svc.db, set_id)
    assert after is not None
    # osu-server-beatmap-submission broadcasts a new set on the first package, else an update
    # (osu-web Event `beatmapsetUpload` / `beatmapsetUpdate` on the mapper's recent activity).
    if beatmapset["osz_key"] is None:
        await events.beatmapset_upload(svc.db, user, after)
    else:
        await events.beatmapset_update(svc.db, user, after)


async def replace_package(request: Request) -> Response:
    """PUT beatmapsets/{id}: the whole `.osz` (form file `beatmapArchive`)."""
    user = require_user(request)
    set_id = _uint(request.path_params["beatmapset_id"], "beatmapset_id")
    beatmapset = await _editable_set(request, set_id, int(user["id"]))
    archives = [v for k, v in await _form(request) if k == "beatmapArchive"]
    if len(archives) != 1 or not isinstance(archives[0], tuple):
        raise unprocessable("expected one beatmapArchive file")
    await _store_package(request, beatmapset, user, archives[0][1])
    return no_content()


def _patched(stored: bytes, changed: dict[str, bytes], deleted: set[str]) -> bytes:
    """The stored package with `changed` files written over and `deleted` ones left out
    (osu-server-beatmap-submission's BeatmapPackagePatcher)."""
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(stored)) as package:
        for info in package.infolist():
            if not info.is_dir() and info.filename not in deleted:
                files[info.filename] = package.read(info)
    files.update(changed)
    return archive.build(list(files.items()))


async def patch_package(request: Request) -> Response:
    """PATCH beatmapsets/{id}: changed files (`filesChanged`) and deleted names (`filesDeleted`)
    applied to the stored package, which is then checked and stored as a whole."""
    user = require_user(request)
    set_id = _uint(request.path_params["beatmapset_id"], "beatmapset_id")
    beatmapset = await _editable_set(request, set_id, int(user["id"]))
    svc = services(request)
    stored = await svc.storage.get(beatmapset["osz_key"]) if beatmapset["osz_key"] else None
    if stored is None:
        # Nothing to patch yet: the official service answers 404 for a set without a version.
        raise not_found("beatmap set version")
    changed: dict[str, bytes] = {}
    deleted: set[str] = set()
    for name, value in await _form(request):
        if name == "filesChanged" and isinstance(value, tuple):
            filename, data = value
            if not filename:
                raise unprocessable("a changed file has no name")
            try:
                archive.check_name(filename)
            except archive.ArchiveError:
                raise unprocessable("Invalid filename detected") from None
            changed[filename] = data
        elif name == "filesDeleted" and isinstance(value, str):
            deleted.add(value)
        else:
            raise unprocessable(f"unexpected form field {name!r}")
    if sum(len(d) for d in changed.values()) > archive.MAX_ARCHIVE_BYTES:
        raise unprocessable("the changed files are larger than the package limit")
    try:
        data = await asyncio.to_thread(_patched, stored, changed, deleted)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise unprocessable(f"the stored package cannot be patched ({exc})") from None
    await _store_package(request, beatmapset, user, data)
    return no_content()


ROUTES = [
    api_route(f"{PREFIX}/beatmapsets", put_beatmapset, methods=["PUT"], scope="*"),
    api_route(
        f"{PREFIX}/beatmapsets/{{beatmapset_id:int}}", replace_package, methods=["PUT"], scope="*"
    ),
    api_route(
        f"{PREFIX}/beatmapsets/{{beatmapset_id:int}}", patch_package, methods=["PATCH"], scope="*"
    ),
]
