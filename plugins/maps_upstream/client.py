"""The official osu! API v2 with client credentials: bounded retries, 429 and a time budget.

The budget, the retry waits and the token's lifetime are kept on the app's clock
(`core.clock`); httpx's own timeout stays as a safety net on the network's (real) time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from loguru import logger
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from core.clock import SYSTEM_CLOCK, Clock, wait_for

if TYPE_CHECKING:
    import httpx


class UpstreamError(Exception):
    """Upstream did not give a usable answer in time."""


class Retryable(UpstreamError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = dt.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


class UpstreamClient:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        retries: int = 3,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        # Imported here, not at the top: the plugin is loaded in every worker, and httpx (about
        # 5 MiB with its command-line tool's imports) is needed only once upstream is asked.
        import httpx

        self.clock = clock
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.retries = max(1, retries)
        self.timeout = timeout
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"User-Agent": "hitcircle", "Accept": "application/json"},
            follow_redirects=True,
        )
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    async def close(self) -> None:
        await self.http.aclose()

    async def _get_token(self, deadline: float) -> str:
        async with self._token_lock:
            if self._token and self.clock.monotonic() < self._token_expires - 30:
                return self._token
            response = await self._send(
                "POST",
                f"{self.base_url}/oauth/token",
                deadline,
                data={
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                    "grant_type": "client_credentials",
                    "scope": "public",
                },
            )
            if response.status_code != 200:
                raise UpstreamError(f"token request refused with {response.status_code}")
            body = response.json()
            self._token = str(body["access_token"])
            self._token_expires = self.clock.monotonic() + float(body.get("expires_in", 3600))
            return self._token

    def deadline(self) -> float:
        """A monotonic deadline `timeout` from now, to share between calls of one request."""
        return self.clock.monotonic() + self.timeout

    async def api(
        self, path: str, params: Mapping[str, Any] | None = None, deadline: float | None = None
    ) -> Any | None:
        """GET `/api/v2{path}`: the JSON body, None on 404; UpstreamError when out of time."""
        deadline = deadline if deadline is not None else self.deadline()
        for attempt in range(2):
            token = await self._get_token(deadline)
            response = await self._send(
                "GET",
                f"{self.base_url}/api/v2{path}",
                deadline,
                params=params,
                headers={"Authorization": f"Bearer {token}", "x-api-version": "20240529"},
            )
            if response.status_code == 401 and attempt == 0:
                self._token = None  # expired or revoked: one new token, then give up
                continue
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise UpstreamError(f"GET {path} answered {response.status_code}")
            try:
                return response.json()
            except ValueError:
                raise UpstreamError(f"GET {path} answered with bad JSON") from None
        raise UpstreamError("upstream refused our token")

    async def file(
        self, url: str, deadline: float | None = None, max_bytes: int | None = None
    ) -> bytes | None:
        """GET a file: its bytes, None unless 200; UpstreamError when out of time or retries,
        or when the body passes `max_bytes` (read as it streams, so a huge body is never held)."""
        response = await self._send(
            "GET", url, deadline if deadline is not None else self.deadline(), max_bytes=max_bytes
        )
        if response.status_code != 200:
            return None
        return response.content

    async def first_file(
        self, urls: list[str], deadline: float | None = None, max_bytes: int | None = None
    ) -> bytes | None:
        """The first of `urls` that answers 200, trying them in order within one time budget.

        Each URL gets an equal share of what is left of the budget, so one that hangs leaves
        time for the next (failover on error, non-200 or timeout).
        """
        deadline = deadline if deadline is not None else self.deadline()
        for index, url in enumerate(urls):
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                break
            share = self.clock.monotonic() + remaining / (len(urls) - index)
            try:
                data = await self.file(url, share, max_bytes)
            except UpstreamError as exc:
                logger.info("mirror {} failed: {}", url, exc)
                continue
            if data:
                return data
            logger.info("mirror {} had nothing", url)
        return None

    async def _bounded(
        self, method: str, url: str, max_bytes: int | None, **kwargs: Any
    ) -> httpx.Response:
        """The request, its body read whole only up to `max_bytes` (UpstreamError past it)."""
        import httpx  # loaded by __init__

        if max_bytes is None:
            return await self.http.request(method, url, **kwargs)
        request = self.http.build_request(method, url, **kwargs)
        response = await self.http.send(request, stream=True)
        body = bytearray()
        try:
            length = response.headers.get("content-length", "")
            if length.isdecimal() and int(length) > max_bytes:
                raise UpstreamError(f"{method} {url}: {length} bytes, more than {max_bytes}")
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise UpstreamError(f"{method} {url}: more than {max_bytes} bytes")
        finally:
            await response.aclose()
        # The body is decoded already: the answer keeps no encoding or length of the wire's.
        headers = [
            (name, value)
            for name, value in response.headers.items()
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(
            response.status_code, headers=headers, content=bytes(body), request=request
        )

    async def _send(
        self, method: str, url: str, deadline: float, max_bytes: int | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request with bounded retries; never runs past `deadline` (monotonic)."""
        import httpx  # loaded by __init__

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            delay = min(0.2 * 2 ** (state.attempt_number - 1), 2.0)
            if isinstance(exc, Retryable) and exc.retry_after is not None:
                delay = exc.retry_after
            if self.clock.monotonic() + delay >= deadline:
                raise UpstreamError("upstream busy: retry would pass the time budget")
            return delay

        async def once() -> httpx.Response:
            remaining = deadline - self.clock.monotonic()
            if remaining <= 0:
                raise UpstreamError("time budget used up")
            try:
                response = await wait_for(
                    self.clock, self._bounded(method, url, max_bytes, **kwargs), remaining
                )
            except (httpx.TransportError, TimeoutError) as exc:
                raise Retryable(f"{method} {url}: {type(exc).__name__}") from None
            if response.status_code == 429 or response.status_code >= 500:
                raise Retryable(f"{method} {url}: {response.status_code}", _retry_after(response))
            return response

        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.retries),
                wait=wait,
                retry=retry_if_exception_type(Retryable),
                reraise=True,
                sleep=self.clock.sleep,
            ):
                with attempt:
                    return await once()
        except Retryable as exc:
            logger.info("upstream gave up: {}", exc)
            raise UpstreamError(str(exc)) from None
        raise UpstreamError("unreachable")  # pragma: no cover
