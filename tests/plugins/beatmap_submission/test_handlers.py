"""Beatmap submission as lazer's editor does it, through the HTTP API in process: PUT beatmapsets
(ids handed out), PUT beatmapsets/{id} (the whole .osz), PATCH beatmapsets/{id} (changed and
deleted files); the set is the mapper's, WIP or pending, searchable and downloadable; ids stay
stable; others get 422 (never 403, which signs lazer out), unknown sets 404, ranked sets are
locked; bad bodies and hostile archives get 422 and change nothing."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from core.beatmaps import store as beatmaps_db
from core.beatmaps.status import change_status
from core.services import services
from core.users import events as user_events
from tests.beatmaps.support import make_osu, make_osz

BASE = "/beatmap-submission/beatmapsets"
AUDIO = b"ID3" + b"\x01" * 2000


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def osu(set_id: int, beatmap_id: int, version: str, **kw: Any) -> bytes:
    return make_osu(
        beatmap_id=beatmap_id,
        set_id=set_id,
        version=version,
        title="Editor Song",
        artist="Submitter",
        creator="mapper",
        **kw,
    )


def package(set_id: int, ids: list[int], **extra: bytes) -> bytes:
    files = {
        f"Submitter - Editor Song (mapper) [D{i}].osu": osu(set_id, b, f"D{i}")
        for i, b in enumerate(ids)
    }
    return make_osz(files, {"audio.mp3": AUDIO, **extra})


async def put_set(client: httpx.AsyncClient, token: str, **body: Any) -> httpx.Response:
    return await client.put(BASE, json=body, headers=auth(token))


async def upload(client: httpx.AsyncClient, token: str, set_id: int, data: bytes) -> httpx.Response:
    files = {"beatmapArchive": ("beatmap.osz", data, "application/octet-stream")}
    return await client.put(f"{BASE}/{set_id}", files=files, headers=auth(token))


async def patch(
    client: httpx.AsyncClient,
    token: str,
    set_id: int,
    changed: dict[str, bytes],
    deleted: list[str] = (),  # type: ignore[assignment]
) -> httpx.Response:
    files = [
        ("filesChanged", (name, data, "application/octet-stream")) for name, data in changed.items()
    ]
    data = {"filesDeleted": list(deleted)} if deleted else {}
    # Without a file httpx sends a plain form, which is taken too.
    return await client.patch(
        f"{BASE}/{set_id}", files=files or None, data=data, headers=auth(token)
    )


async def live_ids(app: Starlette, set_id: int) -> list[int]:
    rows = (await beatmaps_db.beatmaps_of_sets(services(app).db, [set_id]))[set_id]
    return sorted(int(r["id"]) for r in rows)


async def snapshot(app: Starlette) -> tuple[Any, ...]:
    db = services(app).db
    sets = await db.fetch_all(
        sa.select(beatmaps_db.beatmapsets).order_by(beatmaps_db.beatmapsets.c.id)
    )
    maps = await db.fetch_all(sa.select(beatmaps_db.beatmaps).order_by(beatmaps_db.beatmaps.c.id))
    return tuple(tuple(r) for r in sets), tuple(tuple(r) for r in maps)


async def new_submission(
    client: httpx.AsyncClient, token: str, count: int = 2, target: str = "Pending"
) -> tuple[int, list[int]]:
    response = await put_set(client, token, beatmaps_to_create=count, target=target)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"beatmapset_id", "beatmap_ids", "files"} and body["files"] == []
    return body["beatmapset_id"], body["beatmap_ids"]


async def test_new_set_is_the_mappers_searchable_and_downloadable(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    mapper = await make_user("mapper")
    token = await make_token(mapper)
    db = services(app).db
    queue_before = await beatmaps_db.latest_set_update(db)
    set_id, ids = await new_submission(client, token, 2, target="WIP")
    assert len(ids) == 2 and set_id >= 1_500_000_000
    # Reserved, not yet uploaded: nowhere to be seen.
    assert (
        await client.get(f"/api/v2/beatmapsets/{set_id}", headers=auth(token))
    ).status_code == 404
    data = package(set_id, ids)
    response = await upload(client, token, set_id, data)
    assert response.status_code == 204, response.text

    shown = (await client.get(f"/api/v2/beatmapsets/{set_id}", headers=auth(token))).json()
    assert shown["user_id"] == mapper and shown["creator"] == "mapper"
    assert shown["status"] == "wip" and shown["title"] == "Editor Song"
    assert sorted(b["id"] for b in shown["beatmaps"]) == sorted(ids)
    assert {b["user_id"] for b in shown["beatmaps"]} == {mapper}

    found = await client.get(
        "/api/v2/beatmapsets/search", params={"q": "Editor Song", "s": "wip"}, headers=auth(token)
    )
    assert [s["id"] for s in found.json()["beatmapsets"]] == [set_id]
    download = await client.get(f"/api/v2/beatmapsets/{set_id}/download", headers=auth(token))
    assert download.status_code == 200 and download.content == data

    # The mapper's recent activity has the upload; clients hear of the set through the queue.
    activity = await user_events.of_user(db, mapper, limit=10, offset=0)
    assert [e["type"] for e in activity] == ["beatmapsetUpload"]
    assert await beatmaps_db.latest_set_update(db) > queue_before


async def test_pending_target_and_files_listed_for_the_next_round(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    set_id, ids = await new_submission(client, token, 1)
    data = package(set_id, ids)
    assert (await upload(client, token, set_id, data)).status_code == 204
    row = await beatmaps_db.beatmapset_by_id(services(app).db, set_id)
    assert row is not None and row["status"] == 0
    response = await put_set(
        client, token, beatmapset_id=set_id, beatmaps_to_keep=ids, target="Pending"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["beatmapset_id"] == set_id and body["beatmap_ids"] == ids
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        expected = {n: hashlib.sha256(z.read(n)).hexdigest().upper() for n in z.namelist()}
    assert {f["filename"]: f["sha2_hash"] for f in body["files"]} == expected


async def test_replace_and_patch_keep_beatmap_ids(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    mapper = await make_user("mapper")
    token = await make_token(mapper)
    db = services(app).db
    set_id, ids = await new_submission(client, token, 2)
    assert (await upload(client, token, set_id, package(set_id, ids))).status_code == 204

    # A third difficulty: one new id, the two kept; then the whole package again.
    body = (
        await put_set(
            client, token, beatmapset_id=set_id, beatmaps_to_keep=ids, beatmaps_to_create=1
        )
    ).json()
    new_id = body["beatmap_ids"][0]
    assert sorted(body["beatmap_ids"]) == sorted([*ids, new_id])
    # A package without the reserved difficulty is refused and changes nothing.
    before = await snapshot(app)
    refused = await upload(client, token, set_id, package(set_id, ids))
    assert refused.status_code == 422 and str(new_id) in refused.json()["error"]
    assert await snapshot(app) == before
    assert (await upload(client, token, set_id, package(set_id, [*ids, new_id]))).status_code == 204
    assert await live_ids(app, set_id) == sorted([*ids, new_id])

    # PATCH: one difficulty changed, one deleted (after PUT beatmapsets dropped it).
    response = await put_set(client, token, beatmapset_id=set_id, beatmaps_to_keep=[ids[0], new_id])
    assert sorted(response.json()["beatmap_ids"]) == sorted([ids[0], new_id])
    changed = {"Submitter - Editor Song (mapper) [D0].osu": osu(set_id, ids[0], "D0", od=9)}
    response = await patch(
        client, token, set_id, changed, ["Submitter - Editor Song (mapper) [D1].osu"]
    )
    assert response.status_code == 204, response.text
    assert await live_ids(app, set_id) == sorted([ids[0], new_id])
    first = await beatmaps_db.beatmap_by_id(db, ids[0])
    assert first is not None and first["accuracy"] == 9 and first["beatmapset_id"] == set_id
    gone = await beatmaps_db.beatmap_by_id(db, ids[1])
    assert gone is not None and gone["deleted_at"] is not None
    # The stored package is the patched one: the download has the change and lacks the file.
    download = await client.get(f"/api/v2/beatmapsets/{set_id}/download", headers=auth(token))
    with zipfile.ZipFile(io.BytesIO(download.content)) as z:
        names = set(z.namelist())
        assert (
            z.read("Submitter - Editor Song (mapper) [D0].osu")
            == changed["Submitter - Editor Song (mapper) [D0].osu"]
        )
    assert "Submitter - Editor Song (mapper) [D1].osu" not in names and "audio.mp3" in names
    kinds = [e["type"] for e in await user_events.of_user(db, mapper, limit=10, offset=0)]
    assert kinds.count("beatmapsetUpdate") == 2 and kinds.count("beatmapsetUpload") == 1


async def test_only_the_owner_changes_a_set_and_ranked_sets_are_locked(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    other = await make_token(await make_user("someone"))
    set_id, ids = await new_submission(client, token, 1)
    data = package(set_id, ids)
    assert (await upload(client, token, set_id, data)).status_code == 204
    before = await snapshot(app)
    assert (
        await put_set(client, other, beatmapset_id=set_id, beatmaps_to_keep=ids)
    ).status_code == 422
    assert (await upload(client, other, set_id, data)).status_code == 422
    assert (await patch(client, other, set_id, {"x.txt": b"x"})).status_code == 422
    assert (
        await put_set(client, token, beatmapset_id=1_999_999_999, beatmaps_to_create=1)
    ).status_code == 404
    assert (await upload(client, token, 1_999_999_999, data)).status_code == 404
    assert (await patch(client, token, 1_999_999_999, {"x.txt": b"x"})).status_code == 404
    assert (await client.put(BASE, json={"beatmaps_to_create": 1})).status_code == 401
    assert await snapshot(app) == before

    await change_status(app, set_id, "ranked")
    before = await snapshot(app)
    assert (
        await put_set(client, token, beatmapset_id=set_id, beatmaps_to_keep=ids)
    ).status_code == 422
    assert (await upload(client, token, set_id, data)).status_code == 422
    assert (await patch(client, token, set_id, {"x.txt": b"x"})).status_code == 422
    assert await snapshot(app) == before


@pytest.mark.parametrize(
    "body",
    [
        {"beatmaps_to_create": -1},
        {"beatmaps_to_create": "2"},
        {"beatmaps_to_create": 129},
        {"beatmaps_to_create": 2**70},
        {"beatmaps_to_create": 0},
        {"beatmaps_to_create": 1, "beatmaps_to_keep": [5]},
        {"beatmaps_to_create": 1, "beatmaps_to_keep": "5"},
        {"beatmaps_to_create": 1, "target": "Ranked"},
        {"beatmaps_to_create": 1, "target": 1},
        {"beatmapset_id": "x", "beatmaps_to_create": 1},
        {"beatmapset_id": -4, "beatmaps_to_create": 1},
    ],
)
async def test_bad_put_bodies_are_refused(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any, body: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    before = await snapshot(app)
    response = await put_set(client, token, **body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["error"], str)
    assert await snapshot(app) == before


async def test_bad_bodies_keep_ids_and_foreign_ids(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    for raw in (b"not json", b"[1, 2]", b""):
        response = await client.put(
            BASE, content=raw, headers={**auth(token), "Content-Type": "application/json"}
        )
        assert response.status_code == 422
    mine, mine_ids = await new_submission(client, token, 1)
    _theirs, their_ids = await new_submission(client, await make_token(await make_user("other")), 1)
    before = await snapshot(app)
    response = await put_set(client, token, beatmapset_id=mine, beatmaps_to_keep=their_ids)
    assert response.status_code == 422 and "does not belong" in response.json()["error"]
    response = await put_set(client, token, beatmapset_id=mine, beatmaps_to_keep=[*mine_ids] * 129)
    assert response.status_code == 422
    assert await snapshot(app) == before


def _hostile(kind: str, set_id: int, ids: list[int]) -> bytes:
    good = {f"d{i}.osu": osu(set_id, b, f"D{i}") for i, b in enumerate(ids)}
    buffer = io.BytesIO()
    if kind == "not a zip":
        return b"PK\x03\x04 not really"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in good.items():
            z.writestr(name, data)
        if kind == "traversal":
            z.writestr("../../evil.osu", b"x")
        elif kind == "encrypted":
            z.writestr("secret.mp3", b"x" * 100)
        elif kind == "bomb":
            z.writestr("audio.mp3", b"\0" * (8 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    if kind == "encrypted":
        # zipfile writes no encrypted entries: mark the last one so in its central record.
        record = data.rfind(b"PK\x01\x02")
        data[record + 8] |= 0x1
    return bytes(data)


@pytest.mark.parametrize("kind", ["not a zip", "traversal", "encrypted", "bomb"])
async def test_hostile_archives_are_refused_as_imports_are(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any, kind: str
) -> None:
    token = await make_token(await make_user("mapper"))
    set_id, ids = await new_submission(client, token, 1)
    before = await snapshot(app)
    response = await upload(client, token, set_id, _hostile(kind, set_id, ids))
    assert response.status_code == 422, response.text
    assert await snapshot(app) == before


async def test_packages_must_carry_the_sets_ids(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    set_id, ids = await new_submission(client, token, 1)
    other_set, other_ids = await new_submission(client, token, 1)
    before = await snapshot(app)
    cases = [
        make_osz({"a.osu": osu(set_id, other_ids[0], "A")}),  # another set's beatmap id
        make_osz({"a.osu": osu(other_set, ids[0], "A")}),  # another set id
        make_osz({"a.osu": osu(set_id, 0, "A")}),  # no id at all
        make_osz({"a.osu": osu(set_id, ids[0], "A"), "b.osu": osu(set_id, ids[0], "B")}),
        make_osz({"a.osu": b"not an osu file"}),
        make_osz({}, {"audio.mp3": AUDIO}),
    ]
    for data in cases:
        response = await upload(client, token, set_id, data)
        assert response.status_code == 422, response.text
    assert (await client.put(f"{BASE}/{set_id}", headers=auth(token))).status_code == 422
    files = {"other": ("beatmap.osz", package(set_id, ids), "application/octet-stream")}
    response = await client.put(f"{BASE}/{set_id}", files=files, headers=auth(token))
    assert response.status_code == 422
    assert await snapshot(app) == before


async def test_bad_patches_are_refused(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    set_id, ids = await new_submission(client, token, 1)
    # Nothing uploaded yet: nothing to patch.
    assert (await patch(client, token, set_id, {"x.txt": b"x"})).status_code == 404
    assert (await upload(client, token, set_id, package(set_id, ids))).status_code == 204
    before = await snapshot(app)
    for name in ("../evil.osu", "/abs.mp3", "a\\b.mp3"):
        response = await patch(client, token, set_id, {name: b"x"})
        assert response.status_code == 422, name
    # Deleting the only difficulty leaves a package without the set's beatmap.
    name = "Submitter - Editor Song (mapper) [D0].osu"
    response = await patch(client, token, set_id, {}, [name])
    assert response.status_code == 422 and "no .osu files" in response.json()["error"]
    # A changed .osu claiming another id.
    assert (
        await patch(client, token, set_id, {name: osu(set_id, ids[0] + 999, "D0")})
    ).status_code == 422
    response = await client.patch(
        f"{BASE}/{set_id}", json={"filesDeleted": [name]}, headers=auth(token)
    )
    assert response.status_code == 422
    nameless = [("filesChanged", ("", b"x", "application/octet-stream"))]
    response = await client.patch(f"{BASE}/{set_id}", files=nameless, headers=auth(token))
    assert response.status_code == 422
    assert await snapshot(app) == before


@pytest.mark.parametrize("settings_overrides", [{"beatmap_submission": {"max_pending_sets": 2}}])
async def test_pending_sets_are_capped(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    first, ids = await new_submission(client, token, 1)
    await new_submission(client, token, 1, target="WIP")
    before = await snapshot(app)
    response = await put_set(client, token, beatmaps_to_create=1)
    assert response.status_code == 422 and "submission cap" in response.json()["error"]
    assert await snapshot(app) == before
    # Updating a set already held is not a new one.
    response = await put_set(client, token, beatmapset_id=first, beatmaps_to_keep=ids)
    assert response.status_code == 200
    # Another mapper has a cap of their own.
    await new_submission(client, await make_token(await make_user("other")), 1)


@pytest.mark.parametrize("settings_overrides", [{"plugins": {"disabled": ["beatmap_submission"]}}])
async def test_disabled_plugin_mounts_nothing(
    client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    assert (await put_set(client, token, beatmaps_to_create=1)).status_code == 404


async def test_reshaping_a_visible_set_drops_its_cached_views(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    token = await make_token(await make_user("mapper"))
    db = services(app).db
    set_id, ids = await new_submission(client, token, 2)
    assert (await upload(client, token, set_id, package(set_id, ids))).status_code == 204
    shown = (await client.get(f"/api/v2/beatmapsets/{set_id}", headers=auth(token))).json()
    assert shown["status"] == "pending" and len(shown["beatmaps"]) == 2
    queued = await beatmaps_db.latest_set_update(db)
    response = await put_set(
        client, token, beatmapset_id=set_id, beatmaps_to_keep=[ids[0]], target="WIP"
    )
    assert response.status_code == 200
    shown = (await client.get(f"/api/v2/beatmapsets/{set_id}", headers=auth(token))).json()
    assert shown["status"] == "wip" and [b["id"] for b in shown["beatmaps"]] == [ids[0]]
    assert await beatmaps_db.latest_set_update(db) > queued


async def test_ids_taken_meanwhile_are_skipped(
    app: Starlette,
    client: httpx.AsyncClient,
    make_user: Any,
    make_token: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = await make_token(await make_user("mapper"))
    first, first_ids = await new_submission(client, token, 1)
    real = beatmaps_db.max_ids
    stale = [True]

    async def racing_max_ids(db: Any) -> tuple[int, int]:
        # As if another request had not committed yet: the ids it takes look free.
        if stale:
            stale.clear()
            return first - 1, first_ids[0] - 1
        return await real(db)

    monkeypatch.setattr(beatmaps_db, "max_ids", racing_max_ids)
    second, second_ids = await new_submission(client, token, 1)
    assert second == first + 1 and second_ids[0] > first_ids[0]


async def test_a_graveyarded_set_is_revived(
    app: Starlette, client: httpx.AsyncClient, make_user: Any, make_token: Any
) -> None:
    mapper = await make_user("mapper")
    token = await make_token(mapper)
    set_id, ids = await new_submission(client, token, 1)
    assert (await upload(client, token, set_id, package(set_id, ids))).status_code == 204
    await change_status(app, set_id, "graveyard")
    response = await put_set(client, token, beatmapset_id=set_id, beatmaps_to_keep=ids)
    assert response.status_code == 200
    row = await beatmaps_db.beatmapset_by_id(services(app).db, set_id)
    assert row is not None and row["status"] == 0
    activity = await user_events.of_user(services(app).db, mapper, limit=10, offset=0)
    assert activity[0]["type"] == "beatmapsetRevive"
    assert "revived from eternal slumber by" in activity[0]["text"]
