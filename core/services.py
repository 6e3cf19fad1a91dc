"""The host's services, typed: what handlers, hubs, jobs and hooks reach through `services(x)`.

`create_app` builds one `Services` per app (`app.services`); `core.app.standalone` builds the
same for a CLI command. The database and the cache are opened in the app's lifespan, so reading
them before start-up (or after shutdown) raises instead of handing out None.

Plugins keep their own per-app objects in `extras`, read back through `extra`/`extra_or_make`
with the type they expect, so nothing is an untyped attribute bag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

if TYPE_CHECKING:
    import databases
    import sqlalchemy as sa
    from pluggy import PluginManager

    from core.cache import Cache
    from core.clock import Clock
    from core.config import Settings
    from core.jobs import JobRunner
    from core.ratelimit import RateLimits
    from core.signalr import HubHost
    from core.storage import Storage

T = TypeVar("T")


class Services:
    """One app's services; `db` and `cache` exist while the app runs (see `core.app`)."""

    def __init__(
        self,
        *,
        settings: Settings,
        plugins: PluginManager,
        metadata: sa.MetaData | None = None,
        storage: Storage,
        ratelimits: RateLimits,
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self._metadata = metadata
        self.storage = storage
        self.ratelimits = ratelimits
        self.clock = clock
        self.hubs: dict[str, HubHost] = {}
        # The app's job runner once started (`JobRunner.start`); None for a CLI command.
        self.jobs: JobRunner | None = None
        self.extras: dict[str, object] = {}
        self._db: databases.Database | None = None
        self._cache: Cache | None = None

    @property
    def metadata(self) -> sa.MetaData:
        """Every table, the core's and the enabled plugins' (`core.schema.full_metadata`), made
        on first use: serving needs none of it, and the copies cost a worker megabytes."""
        if self._metadata is None:
            from core.schema import full_metadata

            self._metadata = full_metadata(self.plugins)
        return self._metadata

    @property
    def db(self) -> databases.Database:
        if self._db is None:
            raise RuntimeError("the database is opened when the app starts (its lifespan)")
        return self._db

    @db.setter
    def db(self, value: databases.Database | None) -> None:
        self._db = value

    @property
    def cache(self) -> Cache:
        if self._cache is None:
            raise RuntimeError("the cache is opened when the app starts (its lifespan)")
        return self._cache

    @cache.setter
    def cache(self, value: Cache | None) -> None:
        self._cache = value

    @property
    def started(self) -> bool:
        """Whether the database and the cache are open."""
        return self._db is not None and self._cache is not None

    def extra(self, key: str, kind: type[T]) -> T | None:
        """The extra stored under `key`, which must be a `kind`; None when there is none."""
        value = self.extras.get(key)
        if value is None:
            return None
        if not isinstance(value, kind):
            raise TypeError(f"services extra {key!r} is a {type(value).__name__}, not {kind}")
        return value

    def extra_or_make(self, key: str, kind: type[T], make: Callable[[], T]) -> T:
        """The extra under `key`, made (and kept) by `make()` on first use."""
        found = self.extra(key, kind)
        if found is None:
            found = make()
            self.extras[key] = found
        return found

    def pop_extra(self, key: str, kind: type[T]) -> T | None:
        found = self.extra(key, kind)
        self.extras.pop(key, None)
        return found


@runtime_checkable
class HasServices(Protocol):
    """Anything that carries an app's services: the app itself, a hub, a CLI command's host."""

    @property
    def services(self) -> Services: ...


class App(Starlette):
    """The Starlette app `create_app` builds: a Starlette with its `services`, routing through
    `core.routing.IndexedRouter`."""

    services: Services

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from core.routing import IndexedRouter

        super().__init__(*args, **kwargs)
        self.router = IndexedRouter(
            self.router.routes,
            redirect_slashes=self.router.redirect_slashes,
            default=self.router.default,
            lifespan=self.router.lifespan_context,
        )


class Host:
    """What `core.app.standalone` yields: the services of a CLI command, as an app has them."""

    def __init__(self, services: Services) -> None:
        self.services = services


def services(obj: HTTPConnection | Starlette | HasServices | Services) -> Services:
    """The services of a request's (or WebSocket's) app, of an app, or of a hub or host."""
    if isinstance(obj, Services):
        return obj
    target: object = obj.app if isinstance(obj, HTTPConnection) else obj
    found = getattr(target, "services", None)
    if not isinstance(found, Services):
        raise RuntimeError(f"{type(target).__name__} has no hitcircle services (not create_app's)")
    return found
