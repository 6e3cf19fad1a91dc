"""plugins.storage_s3 against a local S3 server (moto's, on a loopback port)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from core.config import ConfigError, Settings
from core.services import services
from core.storage import InvalidKey, LocalStorage
from plugins.storage_s3 import S3Storage
from tests.conftest import run_command
from tests.scores import support

_buckets = itertools.count(1)


@pytest.fixture(scope="session")
def s3_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_section(url: str, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint_url": url,
        "bucket": bucket,
        "access_key_id": "test",
        "secret_access_key": "test",
        **extra,
    }


@pytest.fixture
async def bucket(s3_url: str) -> AsyncIterator[str]:
    """A new, empty bucket for one test."""
    from aiobotocore.session import get_session

    name = f"hitcircle-{next(_buckets)}"
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as s3:
        await s3.create_bucket(Bucket=name)
    yield name


@pytest.fixture
def settings_overrides(s3_url: str, bucket: str) -> dict[str, Any]:
    return {"storage": {"backend": "s3"}, "storage_s3": s3_section(s3_url, bucket, prefix="hc/")}


async def objects(s3_url: str, bucket: str) -> dict[str, bytes]:
    """Everything in the bucket, read straight from the S3 server."""
    from aiobotocore.session import get_session

    found: dict[str, bytes] = {}
    async with get_session().create_client(
        "s3",
        endpoint_url=s3_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ) as s3:
        listing = await s3.list_objects_v2(Bucket=bucket)
        for item in listing.get("Contents", ()):
            answer = await s3.get_object(Bucket=bucket, Key=item["Key"])
            async with answer["Body"] as body:
                found[item["Key"]] = await body.read()
    return found


async def test_put_get_delete_and_keys(settings: Settings, s3_url: str, bucket: str) -> None:
    storage = S3Storage(settings)
    try:
        assert await storage.get("replays/1.osr") is None
        assert not await storage.exists("replays/1.osr")
        await storage.put("replays/1.osr", b"data")
        await storage.put("replays/1.osr", b"newer")
        await storage.put("beatmaps/osu/x.osu", b"osu")
        assert await storage.get("replays/1.osr") == b"newer"
        assert await storage.exists("replays/1.osr")
        assert storage.local_path("replays/1.osr") is None
        assert sorted([k async for k in storage.keys()]) == ["beatmaps/osu/x.osu", "replays/1.osr"]
        assert [k async for k in storage.keys("replays/")] == ["replays/1.osr"]
        # Under the configured prefix in the bucket.
        assert await objects(s3_url, bucket) == {
            "hc/replays/1.osr": b"newer",
            "hc/beatmaps/osu/x.osu": b"osu",
        }
        assert await storage.delete("replays/1.osr")
        assert not await storage.delete("replays/1.osr")
        assert await storage.get("replays/1.osr") is None
        with pytest.raises(InvalidKey):
            await storage.put("../escape", b"x")
    finally:
        await storage.close()


async def test_the_app_serves_files_from_the_bucket(
    app: Starlette, client: httpx.AsyncClient, s3_url: str, bucket: str
) -> None:
    assert isinstance(services(app).storage, S3Storage)
    beatmap = await support.import_map(app, 0)
    stored = await objects(s3_url, bucket)
    assert stored[f"hc/beatmaps/osu/{beatmap.checksum}.osu"] == beatmap.osu
    # Nothing went to the local disk.
    assert not (services(app).settings.data_dir / "files").exists()
    served = await client.get(f"/osu/{beatmap.id}")
    assert served.status_code == 200 and served.content == beatmap.osu


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"bucket": ""}, "storage_s3.bucket"),
        ({"addressing_style": "sideways"}, "storage_s3.addressing_style"),
        ({"timeout": 0}, "storage_s3.timeout"),
        ({"endpoint_url": "ftp://x"}, "storage_s3.endpoint_url"),
        ({"secret_access_key": ""}, "storage_s3.secret_access_key"),
        ({"bucket_name": "x"}, "storage_s3.bucket_name"),
    ],
)
def test_bad_settings_are_refused(
    settings: Settings, s3_url: str, changes: dict[str, Any], key: str
) -> None:
    section = s3_section(s3_url, "b") | changes
    broken = dataclasses.replace(settings, extra={**settings.extra, "storage_s3": section})
    with pytest.raises(ConfigError) as refused:
        S3Storage(broken)
    assert refused.value.key == key


async def test_storage_copy_moves_existing_files(
    settings: Settings, s3_url: str, bucket: str
) -> None:
    local = LocalStorage(Path(settings.data.dir) / "files")
    await local.put("replays/7.osr", b"replay")
    await local.put("beatmaps/osz/a.osz", b"archive")
    first = await run_command(settings, "storage", "copy", "local")
    assert first.returncode == 0, first.stderr
    assert "copied 2 files from local to s3; 0 were there already" in first.stdout
    assert await objects(s3_url, bucket) == {
        "hc/replays/7.osr": b"replay",
        "hc/beatmaps/osz/a.osz": b"archive",
    }
    again = await run_command(settings, "storage", "copy", "local")
    assert "copied 0 files from local to s3; 2 were there already" in again.stdout
    await local.put("replays/7.osr", b"changed")
    forced = await run_command(settings, "storage", "copy", "local", "--overwrite")
    assert "copied 2 files" in forced.stdout
    assert (await objects(s3_url, bucket))["hc/replays/7.osr"] == b"changed"
    # And back, into an empty local folder.
    await local.delete("replays/7.osr")
    back = await run_command(settings, "storage", "copy", "s3", "--to", "local")
    assert "copied 1 files from s3 to local; 1 were there already" in back.stdout
    assert await local.get("replays/7.osr") == b"changed"
    itself = await run_command(settings, "storage", "copy", "s3")
    assert itself.returncode == 2 and "to itself" in itself.stderr
    unknown = await run_command(settings, "storage", "copy", "floppy")
    assert unknown.returncode == 2 and "storage.backend" in unknown.stderr
