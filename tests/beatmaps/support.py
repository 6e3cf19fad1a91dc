"""Beatmap test material: generated `.osu`/`.osz` files and a fake upstream osu! server.

Nothing here reaches the internet: the fake upstream is a Starlette app on a loopback port,
serving JSON and `.osu` files built by `make_osu`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import queue
import threading
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


def make_osu(
    *,
    beatmap_id: int = 0,
    set_id: int = 0,
    version: str = "Normal",
    title: str = "Test Song",
    artist: str = "Test Artist",
    creator: str = "mapper",
    mode: int = 0,
    objects: int = 12,
    spacing: int = 300,
    od: float = 7,
    ar: float = 9,
    tags: str = "test generated",
) -> bytes:
    """A small valid `.osu` (v14): circles, a slider and a spinner, enough for rosu-pp-py."""
    lines = [
        "osu file format v14",
        "",
        "[General]",
        "AudioFilename: audio.mp3",
        "PreviewTime: 1000",
        f"Mode: {mode}",
        "",
        "[Metadata]",
        f"Title:{title}",
        f"TitleUnicode:{title}",
        f"Artist:{artist}",
        f"ArtistUnicode:{artist}",
        f"Creator:{creator}",
        f"Version:{version}",
        "Source:",
        f"Tags:{tags}",
        f"BeatmapID:{beatmap_id}",
        f"BeatmapSetID:{set_id}",
        "",
        "[Difficulty]",
        "HPDrainRate:5",
        "CircleSize:4",
        f"OverallDifficulty:{od}",
        f"ApproachRate:{ar}",
        "SliderMultiplier:1.4",
        "SliderTickRate:1",
        "",
        "[Events]",
        '0,0,"bg.jpg",0,0',
        "",
        "[TimingPoints]",
        "0,500,4,2,0,100,1,0",
        "",
        "[HitObjects]",
    ]
    time = 1000
    for i in range(objects):
        x = 64 + (i * 97) % 384
        y = 64 + (i * 53) % 256
        lines.append(f"{x},{y},{time},1,0")
        time += spacing
    lines.append(f"100,100,{time},2,0,B|300:100,1,140")
    time += 1000
    lines.append(f"256,192,{time},12,0,{time + 1500}")
    return ("\r\n".join(lines) + "\r\n").encode()


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def make_osz(files: dict[str, bytes], extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**files, **(extra or {})}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upstream_set(set_id: int, maps: dict[int, bytes], status: str = "ranked") -> dict[str, Any]:
    """A BeatmapsetExtended as the official API returns it, for `.osu` files in `maps`."""
    beatmaps = []
    for beatmap_id, data in maps.items():
        beatmaps.append(
            {
                "beatmapset_id": set_id,
                "difficulty_rating": 2.5,
                "id": beatmap_id,
                "mode": "osu",
                "status": status,
                "total_length": 10,
                "user_id": 2,
                "version": f"Diff {beatmap_id}",
                "accuracy": 7,
                "ar": 9,
                "bpm": 120,
                "convert": False,
                "count_circles": 12,
                "count_sliders": 1,
                "count_spinners": 1,
                "cs": 4,
                "deleted_at": None,
                "drain": 5,
                "hit_length": 8,
                "is_scoreable": True,
                "last_updated": "2020-01-02T03:04:05Z",
                "mode_int": 0,
                "passcount": 10,
                "playcount": 20,
                "ranked": 1,
                "url": f"https://osu.ppy.sh/beatmaps/{beatmap_id}",
                "checksum": md5(data),
                "max_combo": 15,
            }
        )
    return {
        "artist": "Upstream Artist",
        "artist_unicode": "Upstream Artist",
        "covers": {},
        "creator": "peppy",
        "favourite_count": 5,
        "hype": None,
        "id": set_id,
        "nsfw": False,
        "offset": 0,
        "play_count": 100,
        "preview_url": "",
        "source": "",
        "spotlight": False,
        "status": status,
        "title": "Upstream Title",
        "title_unicode": "Upstream Title",
        "track_id": None,
        "user_id": 2,
        "video": False,
        "bpm": 120,
        "can_be_hyped": False,
        "deleted_at": None,
        "discussion_enabled": True,
        "discussion_locked": False,
        "is_scoreable": True,
        "last_updated": "2020-01-02T03:04:05+00:00",
        "legacy_thread_url": None,
        "nominations_summary": {"current": 0, "required": 2},
        "ranked": 1,
        "ranked_date": "2020-01-03T00:00:00Z",
        "rating": 9.1,
        "storyboard": False,
        "submitted_date": "2019-12-01T00:00:00Z",
        "tags": "upstream tags",
        "availability": {"download_disabled": False, "more_information": None},
        "genre": {"id": 2, "name": "Video Game"},
        "language": {"id": 2, "name": "English"},
        "ratings": [0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 30],
        "beatmaps": beatmaps,
    }


@dataclass
class FakeUpstream:
    """Records requests; `sets` by id, `files` by beatmap id; `throttle` 429s to send first.

    With `hold` set, each request waits until the test lets it go: `await fake.held()` gives
    the next one that arrived (a `threading.Event`, as the fake serves in a thread of its own),
    `.set()` answers it. A slow upstream is one the test answers late, after moving the app's
    clock; `release()` lets everything go.
    """

    sets: dict[int, dict[str, Any]] = field(default_factory=dict)
    files: dict[int, bytes] = field(default_factory=dict)
    throttle: int = 0
    retry_after: str = "0"
    hold: bool = False
    requests: list[str] = field(default_factory=list)
    url: str = ""
    waiting: queue.SimpleQueue[threading.Event] = field(default_factory=queue.SimpleQueue)
    released: threading.Event = field(default_factory=threading.Event)

    async def held(self, timeout: float = 10.0) -> threading.Event:
        return await asyncio.to_thread(self.waiting.get, True, timeout)

    def release(self) -> None:
        self.hold = False
        self.released.set()

    def add(self, set_id: int, maps: dict[int, bytes], status: str = "ranked") -> dict[str, Any]:
        data = upstream_set(set_id, maps, status)
        self.sets[set_id] = data
        self.files.update(maps)
        return data

    def app(self) -> Starlette:
        async def gate(request: Request) -> Response | None:
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
            if self.hold and not self.released.is_set():
                go = threading.Event()
                self.waiting.put(go)
                # Answered when the test says so (or everything is released at the end).
                while not await asyncio.to_thread(go.wait, 0.05):
                    if self.released.is_set():
                        break
            if self.throttle > 0:
                self.throttle -= 1
                return JSONResponse(
                    {"error": "Too Many Attempts."},
                    429,
                    headers={"Retry-After": self.retry_after},
                )
            return None

        async def token(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            form = await request.form()
            if form.get("client_id") != "1" or form.get("client_secret") != "secret":
                return JSONResponse({"error": "invalid_client"}, 401)
            return JSONResponse(
                {"access_token": "upstream-token", "token_type": "Bearer", "expires_in": 86400}
            )

        def authorised(request: Request) -> bool:
            return request.headers.get("authorization") == "Bearer upstream-token"

        async def lookup(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            if not authorised(request):
                return JSONResponse({"authentication": "basic"}, 401)
            q = request.query_params
            for data in self.sets.values():
                for beatmap in data["beatmaps"]:
                    if beatmap["checksum"] == q.get("checksum") or str(beatmap["id"]) == q.get(
                        "id"
                    ):
                        return JSONResponse(beatmap)
            return JSONResponse({"error": None}, 404)

        async def beatmapset(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            if not authorised(request):
                return JSONResponse({"authentication": "basic"}, 401)
            data = self.sets.get(int(request.path_params["id"]))
            if data is None:
                return JSONResponse({"error": None}, 404)
            return JSONResponse(data)

        async def search(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            if not authorised(request):
                return JSONResponse({"authentication": "basic"}, 401)
            q = (request.query_params.get("q") or "").lower()
            found = [data for data in self.sets.values() if q in str(data["title"]).lower()]
            return JSONResponse({"beatmapsets": found, "cursor_string": None, "total": len(found)})

        async def osu(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            data = self.files.get(int(request.path_params["id"]))
            if data is None:
                return Response(b"", 404)
            return Response(data, media_type="text/plain")

        async def osz(request: Request) -> Response:
            if (blocked := await gate(request)) is not None:
                return blocked
            set_id = int(request.path_params["id"])
            if set_id not in self.sets:
                return Response(b"", 404)
            return Response(self.osz(set_id), media_type="application/x-osu-beatmap-archive")

        async def broken(request: Request) -> Response:
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
            return Response(b"down", 503, headers={"Retry-After": "0"})

        async def huge(request: Request) -> Response:
            # A zip's first bytes, then far more than any limit a test sets, with no length.
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")

            async def body() -> AsyncIterator[bytes]:
                yield b"PK\x03\x04"
                for _ in range(64):
                    yield b"\0" * 65536

            return StreamingResponse(body(), media_type="application/octet-stream")

        async def hang(request: Request) -> Response:
            self.requests.append(f"{request.method} {request.url.path}?{request.url.query}")
            go = threading.Event()
            self.waiting.put(go)
            while not await asyncio.to_thread(go.wait, 0.05):
                if self.released.is_set():
                    break
            return Response(b"late", 200)

        return Starlette(
            routes=[
                Route("/osz/{id:int}", osz),
                Route("/broken/{id:int}", broken),
                Route("/hang/{id:int}", hang),
                Route("/huge/{id:int}", huge),
                Route("/oauth/token", token, methods=["POST"]),
                Route("/api/v2/beatmaps/lookup", lookup),
                Route("/api/v2/beatmapsets/search", search),
                Route("/api/v2/beatmapsets/{id:int}", beatmapset),
                Route("/osu/{id:int}", osu),
            ]
        )

    def osz(self, set_id: int) -> bytes:
        """The set as an `.osz` (a zip of its `.osu` files)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for beatmap in self.sets[set_id]["beatmaps"]:
                archive.writestr(f"{beatmap['id']}.osu", self.files[beatmap["id"]])
        return buffer.getvalue()

    def settings(self) -> dict[str, Any]:
        """The `[beatmaps_upstream]` section pointing at this server."""
        return {
            "base_url": self.url,
            "client_id": "1",
            "client_secret": "secret",
            "osu_mirrors": [f"{self.url}/osu/{{id}}"],
            "download_url": "https://mirror.invalid/d/{id}?novideo={no_video}",
            "timeout": 3.0,
        }


@contextmanager
def serve_in_thread(app: Starlette, port: int) -> Iterator[str]:
    """Run an ASGI app with hypercorn on 127.0.0.1:port in a thread of its own."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()

    async def main() -> None:
        task = asyncio.ensure_future(serve(app, config, shutdown_trigger=stop.wait))
        ready.set()
        await task

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    ready.wait(5)
    import socket
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        if not thread.is_alive():
            loop.close()


async def import_osz(app: Starlette, files: dict[str, bytes], status: str = "ranked") -> Any:
    """Import an archive of `files` straight through the importer; returns its summary."""
    from core.beatmaps.importer import Importer

    importer = Importer(app, status, 1_500_000_000)
    await importer.import_archive("set.osz", make_osz(files))
    return importer.summary


async def ranked_set(app: Starlette, set_id: int = 100, count: int = 2) -> dict[int, bytes]:
    """A ranked set `set_id` with `count` difficulties (ids set_id+1...), imported."""
    maps = {
        set_id + i: make_osu(
            beatmap_id=set_id + i, set_id=set_id, version=f"Diff {i}", objects=8 + 4 * i
        )
        for i in range(1, count + 1)
    }
    summary = await import_osz(app, {f"diff{i}.osu": d for i, d in maps.items()})
    assert not summary.failed, summary.failed
    return maps


async def play(
    app: Starlette, user_id: int, beatmap_id: int, passed: bool = True, mods_key: str = ""
) -> int:
    """A score row of `user_id` on `beatmap_id` (what counts as a pass for ratings and tags)."""
    from core.db import utcnow
    from core.scores import store as scores_db
    from core.services import services

    now = utcnow()
    values = {
        "user_id": user_id,
        "beatmap_id": beatmap_id,
        "ruleset_id": 0,
        "passed": passed,
        "rank": "A" if passed else "F",
        "total_score": 500_000,
        "classic_total_score": 0,
        "legacy_total_score": 0,
        "accuracy": 0.95,
        "max_combo": 10,
        "is_perfect_combo": False,
        "legacy_perfect": False,
        "mods": [],
        "statistics": {},
        "maximum_statistics": {},
        "mods_key": mods_key,
        "legacy_mods": 0,
        "preserve": True,
        "ranked": True,
        "processed": True,
        "has_replay": False,
        "replay_views": 0,
        "ended_at": now,
    }
    return await scores_db.insert_score(services(app).db, values)
