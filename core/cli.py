"""`hitcircle serve | migrate | plugins | jobs | storage copy | config check`, plus what plugins
add (`commands` hook)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from core import db as dbmod
from core.cache import CacheUnavailable
from core.config import NO_CONFIG, ConfigError, Settings, load_settings
from core.plugins import PluginError, commands_manager, discover, load
from core.redis_cache import probe_redis

# Errors whose message is already the one line an operator needs.
OPERATOR_ERRORS: tuple[type[Exception], ...] = (
    ConfigError,
    PluginError,
    dbmod.DatabaseUnavailable,
    dbmod.DatabaseRefused,
    CacheUnavailable,
)
# Exit codes: a configuration that cannot be used, and anything else an operator must fix.
EXIT_CONFIG = 2
EXIT_ERROR = 1


def exit_code(exc: Exception) -> int:
    return EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_ERROR


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from core import migrate, server

    # Workers build the app from the settings in the environment: the command-line flags travel
    # there so every worker sees the same values, and so does the file this process found.
    for flag, key in (
        ("host", "SERVER_HOST"),
        ("port", "SERVER_PORT"),
        ("workers", "SERVER_WORKERS"),
    ):
        value = getattr(args, flag)
        if value is not None:
            os.environ[f"HITCIRCLE_{key}"] = str(value)
    settings = load_settings(args.config)
    os.environ["HITCIRCLE_CONFIG"] = str(settings.config_path or NO_CONFIG)
    # Every section, plugin and the storage backend are checked here, in this process, before
    # any worker starts or any socket is opened: a mistake is one line, not a worker's traceback.
    pm = load(settings)
    asyncio.run(_probe(settings))
    migrate.ensure_schema(settings, pm)
    return server.serve(settings, access_log=args.access_log)


async def _probe(settings: Settings) -> None:
    """The database and Redis reachable (bounded retries), or one line saying which is not."""
    db = await dbmod.connect(settings)
    await db.disconnect()
    await probe_redis(settings)


def cmd_migrate(args: argparse.Namespace) -> int:
    from core import migrate

    settings = _settings(args)
    migrate.upgrade(settings)
    print(f"migrated {dbmod.redact(settings.database_url)} to head")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    settings = _settings(args)
    rows = [(p.name, "yes" if p.enabled else "no", p.source) for p in discover(settings)]
    widths = [max(len(r[i]) for r in [("name", "enabled", "source"), *rows]) for i in range(3)]
    for row in [("name", "enabled", "source"), *rows]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    from core.app import standalone
    from core.jobs import Job, last_runs
    from core.plugins import collect

    settings = _settings(args)
    jobs: list[Job] = collect(load(settings).hook.jobs())

    async def read() -> dict[str, object]:
        async with standalone(settings) as host:
            return dict(await last_runs(host.services.db))

    runs = asyncio.run(read())
    header = ("job", "every", "runs on", "last run (UTC)", "took", "runs", "failed", "last outcome")
    rows = [header]
    for job in sorted(jobs, key=lambda j: j.name):
        row: Any = runs.pop(job.name, None)
        where = "one worker" if job.once else "every worker"
        rows.append((job.name, _every(job.interval), where, *_last(row)))
    for name, row in sorted(runs.items()):
        rows.append((name, "-", "not enabled", *_last(row)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _every(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _last(row: Any) -> tuple[str, str, str, str, str]:
    if row is None:
        return ("never", "-", "0", "0", "-")
    outcome = "ok" if row["error"] is None else f"failed: {row['error']}"
    return (
        row["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
        f"{row['seconds']:.2f}s",
        str(row["runs"]),
        str(row["failures"]),
        f"{outcome} ({row['worker']})",
    )


def cmd_storage_copy(args: argparse.Namespace) -> int:
    from core.app import make_storage

    settings = _settings(args)
    pm = load(settings)
    target_name = args.to or settings.storage.backend
    if args.source == target_name:
        print(f"hitcircle: storage copy: {args.source!r} to itself", file=sys.stderr)
        return 2
    source = make_storage(settings.replace(storage={"backend": args.source}), pm)
    target = make_storage(settings.replace(storage={"backend": target_name}), pm)

    async def copy() -> tuple[int, int]:
        copied = kept = 0
        try:
            async for key in source.keys():
                if not args.overwrite and await target.exists(key):
                    kept += 1
                    continue
                data = await source.get(key)
                if data is not None:  # None: deleted since it was listed
                    await target.put(key, data)
                    copied += 1
        finally:
            await source.close()
            await target.close()
        return copied, kept

    copied, kept = asyncio.run(copy())
    print(f"copied {copied} files from {args.source} to {target_name}; {kept} were there already")
    return 0


def describe_files(settings: Settings) -> list[str]:
    """Which files the settings came from and lead to, as `config check` prints them."""
    config = (
        str(settings.config_path) if settings.config_path else "none (defaults and environment)"
    )
    return [
        f"config file: {config}",
        f"data dir: {settings.data_dir.absolute()}",
        f"database: {dbmod.redact(settings.database_url)}",
        f"cache: {dbmod.redact(settings.redis.url) if settings.redis.url else 'memory'}",
    ]


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    for line in describe_files(settings):
        print(line)
    pm = load(settings)
    enabled = [name for name, _ in pm.list_name_plugin()]
    print(
        f"config ok: {len(enabled)} plugins, storage {settings.storage.backend}, "
        f"every section checked"
    )
    if not args.connect:
        return 0
    return asyncio.run(_check_connections(settings))


async def _check_connections(settings: Settings) -> int:
    """`config check --connect`: reach the database and Redis once each, one line each."""
    failed = False
    url = settings.database_url
    if dbmod.is_sqlite(url) and not dbmod.sqlite_path(url).exists():
        print(f"database: {url} does not exist yet (serve or migrate creates it)")
    else:
        try:
            db = await dbmod.connect(settings.replace(database={"connect_attempts": 1}))
            await db.disconnect()
            print(f"database: reachable ({dbmod.redact(url)})")
        except (dbmod.DatabaseUnavailable, dbmod.DatabaseRefused) as exc:
            print(f"database: {exc}")
            failed = True
    if settings.redis.url:
        try:
            reached = await probe_redis(settings, attempts=1)
            print(
                f"redis: reachable ({dbmod.redact(settings.redis.url)})"
                + (f": {reached}" if reached else "")
            )
        except CacheUnavailable as exc:
            print(f"redis: {exc}")
            failed = True
    else:
        print("redis: not configured (in-process memory cache)")
    return EXIT_ERROR if failed else 0


def run_on_app(args: argparse.Namespace, command: Callable[..., Any], *extra: Any) -> int:
    """A command's body: `await command(app, args, *extra)` on an app made from the command
    line's settings (its database and cache, no server), exiting with what it returns."""
    from core.app import standalone

    settings = load_settings(args.config)

    async def main() -> int:
        async with standalone(settings) as app:
            result: int = await command(app, args, *extra)
            return result

    return asyncio.run(main())


def fail(message: str) -> int:
    """A refused command: its one line on stderr, exit code 1."""
    print(f"hitcircle: {message}", file=sys.stderr)
    return EXIT_ERROR


def command_group(cli: Any, name: str, help: str) -> Any:
    """The subcommands of `hitcircle NAME`, made on first use: several plugins add commands to
    one group (`user` has account commands and moderation ones), whichever loads first."""
    parser = cli.choices.get(name)
    if parser is None:
        parser = cli.add_parser(name, help=help)
        return parser.add_subparsers(dest=f"{name}_command", required=True)
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def build_parser(pm: Any) -> argparse.ArgumentParser:
    """The command line: the built-in commands, then those of the plugins in `pm`."""
    parser = argparse.ArgumentParser(
        prog="hitcircle",
        description="an osu! server",
        epilog="exit codes: 2 for a configuration error, 1 for any other error",
    )
    parser.add_argument(
        "--config",
        help="the configuration file, or 'none' (default: HITCIRCLE_CONFIG, else the nearest "
        "config/hitcircle.toml from the current directory up)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve HTTP, WebSocket and SignalR with hypercorn")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="upgrade the database to the newest schema").set_defaults(
        func=cmd_migrate
    )
    # Lists plugins even when one of them (or a section) is broken: it only reads [plugins].
    sub.add_parser("plugins", help="list plugins: name, enabled, source").set_defaults(
        func=cmd_plugins, broken_config_ok=True
    )
    sub.add_parser("jobs", help="list the periodic jobs and their last runs").set_defaults(
        func=cmd_jobs
    )
    storage = sub.add_parser("storage", help="file storage")
    storage_sub = storage.add_subparsers(dest="storage_command", required=True)
    copy = storage_sub.add_parser(
        "copy", help="copy every file from one backend to another (default: the configured one)"
    )
    copy.add_argument("source", metavar="FROM", help="backend to copy from, e.g. local")
    copy.add_argument("--to", help="backend to copy to (default: storage.backend)")
    copy.add_argument("--overwrite", action="store_true", help="replace files already there")
    copy.set_defaults(func=cmd_storage_copy)
    config = sub.add_parser("config", help="configuration")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser(
        "check", help="validate the configuration, every section and plugin; print the files used"
    )
    check.add_argument("--connect", action="store_true", help="also reach the database and Redis")
    check.set_defaults(func=cmd_config_check)
    from core.beatmaps.cli import add_commands as beatmap_commands

    beatmap_commands(sub, command_group)
    pm.hook.commands(cli=sub)
    return parser


def _preparse_config(argv: Sequence[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # Plugins add commands, so settings and plugins are loaded (and checked) before parsing.
        # When that fails every command is still listed (from the plugins that import), and the
        # one line is printed once a command that needs the configuration is chosen.
        problem: Exception | None = None
        try:
            settings = load_settings(_preparse_config(argv))
            pm = load(settings)
        except (ConfigError, PluginError) as exc:
            problem = exc
            try:
                fallback = load_settings(_preparse_config(argv))
            except ConfigError:
                fallback = Settings()
            pm = commands_manager(fallback)
        args = build_parser(pm).parse_args(argv)
        if problem is not None and not getattr(args, "broken_config_ok", False):
            raise problem
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except OPERATOR_ERRORS as exc:
        print(f"hitcircle: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
