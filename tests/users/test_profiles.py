import httpx
from starlette.applications import Starlette

from tests.conftest import create_user, issue_token
from tests.scores.support import body, import_map, submit


async def test_new_user_has_no_rank_history_and_zero_counts(
    client: httpx.AsyncClient, user: int, token: str
) -> None:
    me = (await client.get("/api/v2/me/osu", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["rank_history"] is None and me["rankHistory"] is None
    assert me["rank_highest"] is None
    assert me["scores_best_count"] == me["scores_recent_count"] == 0


async def test_profile_shows_score_derived_fields_after_a_ranked_play(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    player = await create_user(app, "player")
    token = await issue_token(app, player)
    beatmap = await import_map(app, 0)
    submitted = await submit(client, token, beatmap, body(beatmap))
    assert submitted.status_code == 200, submitted.text
    viewer = await issue_token(app, await create_user(app, "viewer"))
    shown = (
        await client.get(
            f"/api/v2/users/{player}/osu", headers={"Authorization": f"Bearer {viewer}"}
        )
    ).json()
    assert shown["statistics"]["global_rank"] == 1
    assert shown["rank_history"]["mode"] == "osu"
    assert shown["rank_history"]["data"][-1] == 1
    assert shown["rankHistory"] == shown["rank_history"]
    assert shown["rank_highest"]["rank"] == 1
    assert shown["scores_best_count"] == 1
    assert shown["scores_recent_count"] == 1
