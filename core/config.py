"""Settings: `config/hitcircle.toml`, then `HITCIRCLE_<SECTION>_<KEY>` environment variables.

Every key has a type taken from its default; a value that does not fit raises `ConfigError`, whose
message is one line naming the key, so start-up can print it instead of a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "HITCIRCLE_"
DEFAULT_CONFIG_PATH = Path("config/hitcircle.toml")


class ConfigError(Exception):
    """A setting that cannot be used; `str()` is the one line shown to the operator."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error: {key}: {problem}")
        self.key = key


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # The address clients use to reach us: notification websocket and download URLs are built on it.
    public_url: str = ""
    # uvloop under hypercorn where it is installed; off, or where it is not, asyncio's own loop.
    uvloop: bool = True
    # Seconds a stopping worker waits for open requests after hub clients were told to go.
    graceful_timeout: float = 5.0


@dataclass(frozen=True)
class DatabaseSettings:
    # Empty means the embedded SQLite file `<data.dir>/hitcircle.db`.
    url: str = ""
    connect_attempts: int = 5
    connect_backoff: float = 0.5
    pool_size: int = 10


@dataclass(frozen=True)
class RedisSettings:
    # Empty means the in-process memory backend (one worker only).
    url: str = ""
    prefix: str = "hitcircle:"
    timeout: float = 1.0


@dataclass(frozen=True)
class DataSettings:
    dir: str = "data"


@dataclass(frozen=True)
class PluginSettings:
    # Empty `enabled` means every plugin that is found; `disabled` is applied after it.
    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    # Extra plugin modules by import path, for plugins that are not packaged.
    modules: tuple[str, ...] = ()


@dataclass(frozen=True)
class RateLimitSettings:
    enabled: bool = True
    default: str = "1200/minute"
    # Path prefix -> limit; the longest matching prefix wins, `default` covers the rest.
    groups: Mapping[str, str] = field(
        default_factory=lambda: {"/oauth/token": "60/minute", "/health": "none"}
    )


@dataclass(frozen=True)
class HttpSettings:
    # Largest request body in bytes, by kind: JSON (and any other type), urlencoded forms and
    # multipart uploads. Checked against Content-Length first and counted while the body streams,
    # so a larger body is cut off with 413 without being held in memory.
    max_json_body: int = 1024 * 1024
    max_form_body: int = 1024 * 1024
    max_upload_body: int = 8 * 1024 * 1024


@dataclass(frozen=True)
class StorageSettings:
    backend: str = "local"


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"


SECTIONS: dict[str, type] = {
    "server": ServerSettings,
    "database": DatabaseSettings,
    "redis": RedisSettings,
    "data": DataSettings,
    "plugins": PluginSettings,
    "ratelimit": RateLimitSettings,
    "http": HttpSettings,
    "storage": StorageSettings,
    "log": LogSettings,
}


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    data: DataSettings = field(default_factory=DataSettings)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    ratelimit: RateLimitSettings = field(default_factory=RateLimitSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    log: LogSettings = field(default_factory=LogSettings)
    # Sections the core does not know: plugin settings, read through `section()`.
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return Path(self.data.dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'hitcircle.db'}"

    @property
    def public_url(self) -> str:
        return (self.server.public_url or f"http://{self.server.host}:{self.server.port}").rstrip(
            "/"
        )

    def section(self, name: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """A plugin's settings: `defaults` give the keys and their types, file and env override."""
        raw = dict(self.extra.get(name, {}))
        for key in raw:
            if key not in defaults:
                raise ConfigError(f"{name}.{key}", "unknown key")
        result: dict[str, Any] = {}
        for key, default in defaults.items():
            env_name = f"{ENV_PREFIX}{name}_{key}".upper()
            if env_name in self.env:
                result[key] = _coerce(f"{name}.{key}", self.env[env_name], default, from_env=True)
            elif key in raw:
                result[key] = _coerce(f"{name}.{key}", raw[key], default, from_env=False)
            else:
                result[key] = default
        return result

    def replace(self, **sections: Any) -> Settings:
        """A copy with some keys changed: `settings.replace(database={"url": ...})`."""
        changes = {
            name: replace(getattr(self, name), **values) for name, values in sections.items()
        }
        return replace(self, **changes)


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    env = dict(os.environ if env is None else env)
    if path is None:
        path = env.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG_PATH
    raw = _read_toml(Path(path))
    return settings_from(raw, env)


def settings_from(raw: Mapping[str, Any], env: Mapping[str, str]) -> Settings:
    values: dict[str, Any] = {}
    extra: dict[str, Mapping[str, Any]] = {}
    for name, content in raw.items():
        if not isinstance(content, dict):
            raise ConfigError(name, "must be a [section]")
        if name not in SECTIONS:
            extra[name] = content
    for name, cls in SECTIONS.items():
        values[name] = _build_section(name, cls, raw.get(name, {}), env)
    settings = Settings(**values, extra=extra, env=dict(env))
    validate(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read ({exc.strerror})") from None


def _build_section(name: str, cls: type, raw: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    known = {f.name: f for f in fields(cls)}
    for key in raw:
        if key not in known:
            raise ConfigError(f"{name}.{key}", "unknown key")
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key in known:
        default = getattr(defaults, key)
        env_name = f"{ENV_PREFIX}{name}_{key}".upper()
        if env_name in env:
            kwargs[key] = _coerce(f"{name}.{key}", env[env_name], default, from_env=True)
        elif key in raw:
            kwargs[key] = _coerce(f"{name}.{key}", raw[key], default, from_env=False)
    return cls(**kwargs)


def _coerce(key: str, value: Any, default: Any, *, from_env: bool) -> Any:
    """Turn a file or environment value into the type of `default`."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if isinstance(default, int):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if from_env and isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(key, f"expected a whole number, got {value!r}")
    if isinstance(default, float):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if from_env and isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(key, f"expected a number, got {value!r}")
    if isinstance(default, str):
        if isinstance(value, str):
            return value
        raise ConfigError(key, f"expected a string, got {value!r}")
    if isinstance(default, tuple):
        if from_env and isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise ConfigError(key, f"expected a list of strings, got {value!r}")
    if isinstance(default, Mapping):
        if from_env and isinstance(value, str):
            # "prefix=limit,prefix=limit": a table cannot be written in one environment variable.
            pairs: dict[str, str] = {}
            for part in filter(None, (p.strip() for p in value.split(","))):
                name, sep, item = part.partition("=")
                if not sep:
                    raise ConfigError(key, f"expected name=value pairs, got {part!r}")
                pairs[name.strip()] = item.strip()
            return pairs
        if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            return dict(value)
        raise ConfigError(key, f"expected a table of strings, got {value!r}")
    return value


def validate(settings: Settings) -> None:
    """Checks that need more than a type; each failure names its key."""
    from limits import parse

    if not 0 < settings.server.port < 65536:
        raise ConfigError("server.port", f"must be between 1 and 65535, got {settings.server.port}")
    if settings.server.workers < 1:
        raise ConfigError("server.workers", "must be at least 1")
    if settings.server.graceful_timeout < 0:
        raise ConfigError("server.graceful_timeout", "must not be negative")
    if settings.server.workers > 1 and not settings.redis.url:
        raise ConfigError(
            "server.workers",
            "more than one worker needs Redis: set redis.url (HITCIRCLE_REDIS_URL), "
            "the memory backend lives in one process",
        )
    url = settings.database_url
    if not url.startswith(("sqlite:///", "mysql://", "mysql+aiomysql://")):
        raise ConfigError(
            "database.url", f"unsupported URL {url!r}: use sqlite:///PATH or mysql://USER@HOST/DB"
        )
    if settings.database.connect_attempts < 1:
        raise ConfigError("database.connect_attempts", "must be at least 1")
    if settings.database.connect_backoff < 0:
        raise ConfigError("database.connect_backoff", "must not be negative")
    if settings.redis.url and not settings.redis.url.startswith(("redis://", "rediss://")):
        raise ConfigError("redis.url", f"expected redis://HOST:PORT/DB, got {settings.redis.url!r}")
    if settings.redis.timeout <= 0:
        raise ConfigError("redis.timeout", "must be positive")
    for name, limit in [
        ("default", settings.ratelimit.default),
        *settings.ratelimit.groups.items(),
    ]:
        key = "ratelimit.default" if name == "default" else f"ratelimit.groups.{name}"
        if limit == "none":
            continue
        try:
            parse(limit)
        except ValueError:
            raise ConfigError(
                key, f"expected a limit like '60/minute' or 'none', got {limit!r}"
            ) from None
    for key in ("max_json_body", "max_form_body", "max_upload_body"):
        if getattr(settings.http, key) < 1:
            raise ConfigError(f"http.{key}", "must be at least 1")
    if settings.log.level.upper() not in ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(
            "log.level", f"expected DEBUG, INFO, WARNING or ERROR, got {settings.log.level!r}"
        )
