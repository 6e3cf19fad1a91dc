"""core.moderation.inputs: how the admin API and the web admin pages read a moderation request."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from core.http import ApiError, Params
from core.moderation import inputs
from core.moderation.audit import ModerationError
from core.services import services
from core.users import store as users_db
from tests.moderation.support import staff


async def test_target_by_id_name_or_at_name(app: Starlette) -> None:
    s = await staff(app)
    db = services(app).db
    for raw in (str(s.player), "player", "@player", "PLAYER"):
        assert (await inputs.target(db, raw))["id"] == s.player, raw
    await users_db.update_user(db, s.other, is_deleted=True)
    for raw in (str(s.other), "other", "nobody", "", "9" * 19, "x" * 33, "123456789"):
        with pytest.raises(ModerationError) as refused:
            await inputs.target(db, raw)
        assert refused.value.status == 404, raw


async def test_staff_are_admins_and_moderators(app: Starlette) -> None:
    s = await staff(app)
    db = services(app).db
    for uid, name in ((s.admin, "boss"), (s.moderator, "warden")):
        actor = await inputs.staff(db, {"id": uid, "username": name})
        assert actor.user_id == uid and actor.is_moderator
    with pytest.raises(ModerationError) as refused:
        await inputs.staff(db, {"id": s.player, "username": "player"})
    assert refused.value.status == 403


def test_fields() -> None:
    assert inputs.object_id("12", "UserReport") == 12
    for raw in ("", "x", "1.5", "-1", "9" * 19, "²"):
        with pytest.raises(ModerationError, match="UserReport couldn't be found"):
            inputs.object_id(raw, "UserReport")
    assert inputs.text(Params({"a": "hi"}), "a") == "hi"
    assert inputs.text(Params({"a": ""}), "a") is None
    with pytest.raises(ModerationError, match="at most 3"):
        inputs.text(Params({"a": "long"}), "a", max_length=3)
    with pytest.raises(ModerationError, match="must be text"):
        inputs.text(Params({"a": ["x"]}), "a")
    assert inputs.reason(Params({"reason": " spam "}), required=True) == "spam"
    with pytest.raises(ModerationError, match="reason is required"):
        inputs.reason(Params({"reason": "  "}), required=True)
    assert inputs.note(Params({"reason": "done"})) == "done"
    assert inputs.note(Params({"note": "n", "reason": "r"})) == "n"
    assert inputs.supporter(Params({"supporter": "false"})) is False
    assert inputs.supporter(Params({"supporter": True})) is True
    with pytest.raises(ModerationError, match="supporter"):
        inputs.supporter(Params({"supporter": "maybe"}))
    assert inputs.playmodes(Params({"playmodes[]": ["osu", "taiko"]})) == ["osu", "taiko"]
    with pytest.raises(ModerationError, match="ruleset names"):
        inputs.playmodes(Params({"playmodes": [1]}))
    with pytest.raises(ApiError):
        inputs.playmodes(Params({"playmodes": ["osu"] * 5}))
