"""S3-compatible object storage (AWS S3, MinIO, Garage, Ceph, Cloudflare R2, ...) for replays,
beatmap files and archives: `[storage] backend = "s3"` with a `[storage_s3]` section.

The client is aiobotocore, installed with `pip install 'hitcircle[s3]'`; it is imported only when
the backend is used, so a server on local files never loads it. An object is written by one PUT,
so readers never see half of it, as with local files.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from core.config import ConfigError, Key, Section, Settings, positive
from core.hooks import hookimpl
from core.storage import check_key

SECTION = Section(
    "storage_s3",
    (
        Key("endpoint_url", "", "The service's URL; empty means AWS itself (by region)."),
        Key("region", "us-east-1", "The bucket's region."),
        Key("bucket", "", "The bucket (it must exist); required with storage.backend = 's3'."),
        # So one bucket can hold more than one installation.
        Key("prefix", "", "Keys are stored under this prefix, e.g. 'hitcircle/'."),
        Key("access_key_id", "", "Empty: the usual AWS chain (environment, ~/.aws, role)."),
        Key("secret_access_key", "", "The secret of access_key_id."),
        Key(
            "addressing_style",
            "path",
            "'path' (http://host/bucket/key: MinIO, most self-hosted services) or 'virtual'.",
            choices=("path", "virtual"),
        ),
        # A stalled service fails a request, not a worker.
        Key("timeout", 10.0, "Seconds for connecting and for each read.", check=positive),
    ),
    'S3-compatible object storage (`storage.backend = "s3"`).',
)


def s3_settings(settings: Settings) -> dict[str, Any]:
    values = SECTION.read(settings)
    if not values["bucket"]:
        raise ConfigError("storage_s3.bucket", "is required for storage.backend = 's3'")
    if values["endpoint_url"] and not values["endpoint_url"].startswith(("http://", "https://")):
        raise ConfigError("storage_s3.endpoint_url", "expected an http(s) URL")
    if bool(values["access_key_id"]) != bool(values["secret_access_key"]):
        raise ConfigError("storage_s3.secret_access_key", "give both keys, or neither")
    return values


class S3Storage:
    """`core.storage.Storage` on a bucket; the client opens on first use, in the running loop."""

    def __init__(self, settings: Settings) -> None:
        self.config = s3_settings(settings)
        self.bucket: str = self.config["bucket"]
        self.prefix: str = self.config["prefix"]
        self._client: Any = None
        self._context: Any = None
        self._opening = asyncio.Lock()

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._context = self._create_client()
                    self._client = await self._context.__aenter__()
        return self._client

    def _create_client(self) -> Any:
        try:
            from aiobotocore.config import AioConfig
            from aiobotocore.session import get_session
        except ImportError:  # pragma: no cover - the extra is part of the test install
            raise ConfigError(
                "storage.backend", "'s3' needs aiobotocore: pip install 'hitcircle[s3]'"
            ) from None
        c = self.config
        return get_session().create_client(
            "s3",
            endpoint_url=c["endpoint_url"] or None,
            region_name=c["region"],
            aws_access_key_id=c["access_key_id"] or None,
            aws_secret_access_key=c["secret_access_key"] or None,
            config=AioConfig(
                connect_timeout=c["timeout"],
                read_timeout=c["timeout"],
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": c["addressing_style"]},
            ),
        )

    def _key(self, key: str) -> str:
        check_key(key)
        return self.prefix + key

    async def put(self, key: str, data: bytes) -> None:
        s3 = await self._s3()
        await s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=bytes(data))

    async def get(self, key: str) -> bytes | None:
        s3 = await self._s3()
        try:
            answer = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except s3.exceptions.NoSuchKey:
            return None
        async with answer["Body"] as body:
            data: bytes = await body.read()
        return data

    async def exists(self, key: str) -> bool:
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=self._key(key))
        except s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> bool:
        # S3 answers a DELETE the same whether the object was there: ask first.
        if not await self.exists(key):
            return False
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        return True

    def local_path(self, key: str) -> Path | None:
        return None

    async def keys(self, prefix: str = "") -> AsyncIterator[str]:
        s3 = await self._s3()
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + prefix
        )
        async for page in pages:
            for item in page.get("Contents", ()):
                yield item["Key"][len(self.prefix) :]

    async def close(self) -> None:
        if self._context is not None:
            context, self._context, self._client = self._context, None, None
            await context.__aexit__(None, None, None)


@hookimpl
def storage_backends() -> dict[str, Any]:
    return {"s3": S3Storage}


@hookimpl
def settings_sections() -> list[Section]:
    return [SECTION]
