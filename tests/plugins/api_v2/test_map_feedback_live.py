"""ossapi against `hitcircle serve`: tags, beatmap packs, beatmapset events, ratings and
pack tags on sets."""

from pathlib import Path

import pytest
from starlette.applications import Starlette

from core.auth import sha256_hex
from core.auth import store as oauth_db
from core.beatmaps import feedback, packs
from core.beatmaps.status import change_status
from core.services import services
from tests.beatmaps.support import play, ranked_set
from tests.conftest import LiveServer, create_user, local_ossapi

SECRET = "s3cret-" + "f" * 30


@pytest.fixture
async def world(app: Starlette) -> dict:
    owner = await create_user(app, "peppy")
    db = services(app).db
    client_id = await oauth_db.create_client(
        db, user_id=owner, name="live", secret_hash=sha256_hex(SECRET), redirect="http://x/cb"
    )
    await ranked_set(app, 100)
    await ranked_set(app, 200)
    await change_status(app, 200, "qualified")
    jumps = await feedback.add_tag(db, "style/jumps", "Jumps", 0)
    await feedback.add_tag(db, "genre/rock", "Rock", None)
    pack = await packs.create(db, "S1", "Starter", "op", 0)
    await packs.add_set(db, pack, 100)
    await packs.add_set(db, pack, 200)
    await packs.create(db, "T1", "Theme", "op", None)
    await play(app, owner, 101)
    await feedback.rate(db, 100, owner, 8)
    await feedback.vote(db, 101, jumps, owner, True)
    return {"client_id": client_id, "jumps": jumps}


def test_ossapi(
    world_server: LiveServer, world: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = local_ossapi(
        monkeypatch, world_server.url, world["client_id"], SECRET, token_directory=str(tmp_path)
    )
    tags = api.tags()
    assert sorted(t.name for t in tags) == ["genre/rock", "style/jumps"]
    assert {t.name: t.ruleset_id for t in tags} == {"genre/rock": None, "style/jumps": 0}

    listed = api.beatmap_packs()
    assert [p.tag for p in listed.beatmap_packs] == ["S1"]
    assert [p.tag for p in api.beatmap_packs(type="theme").beatmap_packs] == ["T1"]
    pack = api.beatmap_pack("S1")
    assert pack.name == "Starter" and pack.author == "op" and pack.ruleset_id == 0
    assert [s.id for s in pack.beatmapsets] == [100, 200]

    events = api.beatmapset_events()
    assert [(e.type.value, e.beatmapset.id) for e in events.events] == [
        ("qualify", 200),
        ("rank", 200),
        ("rank", 100),
    ]
    assert events.reviewsConfig.max_blocks == 50
    only = api.beatmapset_events(types=["qualify"])
    assert [e.beatmapset.id for e in only.events] == [200]

    beatmapset = api.beatmapset(100)
    assert beatmapset.ratings[8] == 1 and sum(beatmapset.ratings) == 1
    assert beatmapset.pack_tags == ["S1"]
    assert beatmapset.beatmaps[0].top_tag_ids == [{"tag_id": world["jumps"], "count": 1}]
