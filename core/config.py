"""Settings: a TOML file, then `HITCIRCLE_<SECTION>_<KEY>` environment variables.

The file is the one `--config` or `HITCIRCLE_CONFIG` names (`none`: no file), else
`config/hitcircle.toml` in the current directory or the nearest parent that has one. Relative paths
in the file (and the default `data` folder) are relative to the instance directory: the folder
holding the file, or its parent when that folder is called `config` (a checkout's
`config/hitcircle.toml` beside `data/`). Paths from the environment are relative to the current
directory, as any command's arguments are.

The core sections are dataclasses below; every other section is declared by the code that reads it
(`Section`, returned by the `settings_sections` hook) and checked, with unknown sections and
unknown `HITCIRCLE_*` variables, by `check_sections` when the plugins load: before anything serves.
Every key has a type taken from its default; a value that does not fit raises `ConfigError`, whose
message is one line naming the key, so start-up can print it instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "HITCIRCLE_"
# Looked for in the current directory and then in each parent, as git looks for `.git`.
DEFAULT_CONFIG_PATH = Path("config/hitcircle.toml")
# `HITCIRCLE_CONFIG=none` (or `--config none`): no file, defaults and environment only.
NO_CONFIG = "none"
# HITCIRCLE_* variables that are not settings: the file to read, the pure-Python codec switch
# (core/lazer), and the test suite's and benchmarks' own.
OTHER_VARIABLES = frozenset({"HITCIRCLE_CONFIG", "HITCIRCLE_PURE_CODEC"})
OTHER_PREFIXES = ("HITCIRCLE_TEST_", "HITCIRCLE_BENCH_")


class ConfigError(Exception):
    """A setting that cannot be used; `str()` is the one line shown to the operator."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"config error: {key}: {problem}")
        self.key = key


def did_you_mean(name: str, candidates: Iterable[str], show: Callable[[str], str] = str) -> str:
    """` (did you mean X?)` naming the closest candidate, or "" when none is close."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {show(close[0])}?)" if close else ""


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
    # Reverse proxies (addresses or CIDRs) whose X-Forwarded-For tells the client's address.
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatabaseSettings:
    # Empty means the embedded SQLite file `<data.dir>/hitcircle.db`.
    url: str = ""
    connect_attempts: int = 5
    connect_backoff: float = 0.5
    # Seconds one connection attempt may take: a host that never answers fails this fast.
    connect_timeout: float = 3.0
    pool_size: int = 10
    # Embedded SQLite: seconds a write waits for the file's one write lock (held by other
    # requests' writes, or another worker's) before the request is answered 503.
    write_timeout: float = 10.0


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
class Key:
    """One key of a declared section: its default (which gives its type) and its limits.

    `min`/`max` bound a number, `choices` a string; `check` is any further test, answering the
    problem in a few words or None. A `path` is a file or folder: relative in the config file, it
    is taken relative to the instance directory.
    """

    name: str
    default: Any
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    path: bool = False

    def validate(self, qualified: str, value: Any) -> Any:
        if self.choices and value not in self.choices:
            raise ConfigError(
                qualified, f"expected one of {', '.join(self.choices)}, got {value!r}"
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = self.min, self.max
            if low is not None and high is not None and not low <= value <= high:
                raise ConfigError(qualified, f"must be between {low:g} and {high:g}, got {value!r}")
            if low is not None and value < low:
                raise ConfigError(qualified, f"must be at least {low:g}, got {value!r}")
            if high is not None and value > high:
                raise ConfigError(qualified, f"must be at most {high:g}, got {value!r}")
        if self.check is not None:
            problem = self.check(value)
            if problem:
                raise ConfigError(qualified, problem)
        return value


def positive(value: Any) -> str | None:
    """A `Key.check`: the number must be above zero."""
    return None if value > 0 else f"must be positive, got {value!r}"


def http_url(value: Any) -> str | None:
    """A `Key.check`: an http(s) URL."""
    ok = isinstance(value, str) and value.startswith(("http://", "https://"))
    return None if ok else f"expected an http(s) URL, got {value!r}"


def rate_limit(value: Any) -> str | None:
    """A `Key.check`: a limit `limits` parses ("10/minute"), or "none"."""
    from limits import parse

    if value == "none":
        return None
    try:
        parse(value)
    except ValueError:
        return f"expected a limit like '60/minute' or 'none', got {value!r}"
    return None


@dataclass(frozen=True)
class Section:
    """A `[name]` section of the configuration, declared by the code that reads it.

    Declared through the `settings_sections` hook (core's own in `core.sections`), so every key
    of every enabled plugin is checked when the plugins load, before anything serves; the code
    then reads the checked values with `SECTION.read(settings)`.
    """

    name: str
    keys: tuple[Key, ...]
    doc: str = ""

    @classmethod
    def from_defaults(cls, name: str, defaults: Mapping[str, Any]) -> Section:
        return cls(name, tuple(Key(key, value) for key, value in defaults.items()))

    def env_names(self) -> dict[str, Key]:
        return {_env_name(self.name, key.name): key for key in self.keys}

    def read(self, settings: Settings) -> dict[str, Any]:
        """The section's values: file, then environment, over the defaults, checked.

        Checked once per `Settings` (then a copy of the kept values); a bad value raises the
        one-line `ConfigError`, which `check_sections` already raised at load time.
        """
        kept = settings._read.get(self.name)
        if kept is None or kept[0] is not self:
            kept = (self, self._values(settings))
            settings._read[self.name] = kept
        return dict(kept[1])

    def _values(self, settings: Settings) -> dict[str, Any]:
        raw = settings.extra.get(self.name, {})
        known = {key.name: key for key in self.keys}
        for name in raw:
            if name not in known:
                hint = did_you_mean(name, known)
                raise ConfigError(f"{self.name}.{name}", f"unknown key{hint}")
        values: dict[str, Any] = {}
        for key in self.keys:
            qualified = f"{self.name}.{key.name}"
            env_name = _env_name(self.name, key.name)
            if env_name in settings.env:
                value = _coerce(qualified, settings.env[env_name], key.default, from_env=True)
            elif key.name in raw:
                value = _coerce(qualified, raw[key.name], key.default, from_env=False)
                if key.path and value:
                    value = str(settings.resolve(value))
            else:
                value = key.default
            values[key.name] = key.validate(qualified, value)
        return values


def _env_name(section: str, key: str) -> str:
    return f"{ENV_PREFIX}{section}_{key}".upper()


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
    # Sections the core does not know: declared by plugins, read through `Section.read`.
    extra: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    # The file these settings came from (None: none), and the folder its relative paths are
    # relative to (None: the current directory).
    config_path: Path | None = None
    base_dir: Path | None = None
    # Declared sections already read: name -> (declaration, values). Not compared, not copied.
    _read: dict[str, tuple[Section, dict[str, Any]]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

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

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """A path written in the config file: relative ones are relative to the instance dir."""
        result = Path(path).expanduser()
        if self.base_dir is None or result.is_absolute():
            return result
        return self.base_dir / result

    def section(self, name: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
        """A section read by its defaults (the keys and their types); file and env override.

        For plugins written before `settings_sections`: the section must still be declared by
        that hook, or loading the plugins reports it as unknown.
        """
        return Section.from_defaults(name, defaults).read(self)

    def replace(self, **sections: Any) -> Settings:
        """A copy with some keys changed: `settings.replace(database={"url": ...})`."""
        changes = {
            name: replace(getattr(self, name), **values) for name, values in sections.items()
        }
        return replace(self, **changes)


def find_config(
    path: str | os.PathLike[str] | None, env: Mapping[str, str], cwd: Path | None = None
) -> Path | None:
    """The config file to read: `path` (`--config`), else `HITCIRCLE_CONFIG`, else the nearest
    `config/hitcircle.toml` from the current directory up; None for none. A file that is named but
    missing is an error."""
    named, origin = (str(path), "--config") if path is not None else (None, "")
    if named is None and env.get(f"{ENV_PREFIX}CONFIG"):
        named, origin = env[f"{ENV_PREFIX}CONFIG"], f"{ENV_PREFIX}CONFIG"
    if named is not None:
        if named == NO_CONFIG:
            return None
        found = Path(named).expanduser()
        if not found.is_file():
            problem = "is a directory" if found.is_dir() else "no such file"
            raise ConfigError(origin, f"{named}: {problem} (use {NO_CONFIG!r} for no config file)")
        return found.absolute()
    here = (cwd or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG_PATH
        if candidate.is_file():
            return candidate
    return None


def instance_dir(config_path: Path) -> Path:
    """Where relative paths in `config_path` start: its folder, or that folder's parent when the
    folder is called `config` (`<instance>/config/hitcircle.toml` beside `<instance>/data`)."""
    folder = config_path.absolute().parent
    return folder.parent if folder.name == "config" else folder


def load_settings(
    path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    env = dict(os.environ if env is None else env)
    found = find_config(path, env)
    if found is None:
        return settings_from({}, env)
    return settings_from(_read_toml(found), env, config_path=found)


def settings_from(
    raw: Mapping[str, Any], env: Mapping[str, str], config_path: Path | None = None
) -> Settings:
    base = instance_dir(config_path) if config_path is not None else None
    values: dict[str, Any] = {}
    extra: dict[str, Mapping[str, Any]] = {}
    for name, content in raw.items():
        if not isinstance(content, dict):
            raise ConfigError(name, "must be a [section]")
        if name not in SECTIONS:
            extra[name] = content
    for name, cls in SECTIONS.items():
        values[name] = _build_section(name, cls, raw.get(name, {}), env)
    if base is not None:
        values["data"], values["database"] = _resolve_paths(
            base, values["data"], values["database"], env
        )
    settings = Settings(
        **values, extra=extra, env=dict(env), config_path=config_path, base_dir=base
    )
    validate(settings)
    return settings


def _resolve_paths(
    base: Path, data: DataSettings, database: DatabaseSettings, env: Mapping[str, str]
) -> tuple[DataSettings, DatabaseSettings]:
    """Relative paths of the file (and the default data dir) made relative to `base`."""
    if _env_name("data", "dir") not in env:
        data = replace(data, dir=str(base / Path(data.dir).expanduser()))
    url = database.url
    if url.startswith("sqlite:///") and _env_name("database", "url") not in env:
        file = Path(url.removeprefix("sqlite:///"))
        if not file.is_absolute():
            database = replace(database, url=f"sqlite:///{base / file}")
    return data, database


def _read_toml(path: Path) -> dict[str, Any]:
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
            raise ConfigError(f"{name}.{key}", f"unknown key{did_you_mean(key, known)}")
    defaults = cls()
    kwargs: dict[str, Any] = {}
    for key in known:
        default = getattr(defaults, key)
        env_name = _env_name(name, key)
        if env_name in env:
            kwargs[key] = _coerce(f"{name}.{key}", env[env_name], default, from_env=True)
        elif key in raw:
            kwargs[key] = _coerce(f"{name}.{key}", raw[key], default, from_env=False)
    return cls(**kwargs)


def check_sections(
    settings: Settings, declared: Iterable[Section], dormant: Iterable[str] = ()
) -> None:
    """Every declared section read (and so checked), and nothing left over: a section nobody
    declares, or a `HITCIRCLE_*` variable that is no setting, is an error naming the closest
    valid one. `dormant` sections belong to disabled plugins and are ignored, as their variables.
    """
    sections: dict[str, Section] = {}
    for section in declared:
        if section.name in SECTIONS or section.name in sections:
            raise ConfigError(f"[{section.name}]", "declared twice (two plugins use one name)")
        sections[section.name] = section
    for section in sections.values():
        section.read(settings)
    asleep = set(dormant) - set(sections)
    known = [*SECTIONS, *sections]
    for name in settings.extra:
        if name not in sections and name not in asleep:
            hint = did_you_mean(name, known, lambda n: f"[{n}]")
            raise ConfigError(f"[{name}]", f"unknown section{hint}")
    variables = {_env_name(name, f.name) for name, cls in SECTIONS.items() for f in fields(cls)}
    for section in sections.values():
        variables.update(section.env_names())
    asleep_prefixes = tuple(f"{ENV_PREFIX}{name.upper()}_" for name in asleep)
    for name in settings.env:
        if (
            not name.startswith(ENV_PREFIX)
            or name in variables
            or name in OTHER_VARIABLES
            or name.startswith(OTHER_PREFIXES + asleep_prefixes)
        ):
            continue
        raise ConfigError(name, f"not a setting{did_you_mean(name, variables)}")


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
    from core.proxies import parse_networks

    try:
        parse_networks(settings.server.trusted_proxies)
    except ValueError as exc:
        raise ConfigError("server.trusted_proxies", str(exc)) from None
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
    if settings.database.connect_timeout <= 0:
        raise ConfigError("database.connect_timeout", "must be positive")
    if settings.database.write_timeout <= 0:
        raise ConfigError("database.write_timeout", "must be positive")
    if settings.redis.url:
        from core.redis_client import parse as parse_redis_url

        try:
            parse_redis_url(settings.redis.url)
        except ValueError as exc:
            raise ConfigError("redis.url", str(exc)) from None
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
