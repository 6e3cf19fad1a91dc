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
from core.config import ConfigError, Settings, load_settings
from core.plugins import PluginError, discover, load

# Errors whose message is already the one line an operator needs.
OPERATOR_ERRORS: tuple[type[Exception], ...] = (ConfigError, PluginError, dbmod.DatabaseUnavailable)


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def cmd_serve(args: argparse.Namespace) -> int:
    from core import migrate, server

    # Workers build the app from the settings in the environment: the command-line flags travel
    # there so every worker sees the same values.
    for flag, key in (
        ("host", "SERVER_HOST"),
        ("port", "SERVER_PORT"),
        ("workers", "SERVER_WORKERS"),
    ):
        value = getattr(args, flag)
        if value is not None:
            os.environ[f"HITCIRCLE_{key}"] = str(value)
    if args.config:
        os.environ["HITCIRCLE_CONFIG"] = args.config
    settings = load_settings()
    load(settings)  # a broken plugin stops here with its name, before any socket is opened
    asyncio.run(_probe_database(settings))
    migrate.ensure_schema(settings)
    return server.serve(settings, access_log=args.access_log)


async def _probe_database(settings: Settings) -> None:
    db = await dbmod.connect(settings)
    await db.disconnect()


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


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    load(settings)
    print(
        f"config ok: database {dbmod.redact(settings.database_url)}, "
        f"cache {'redis' if settings.redis.url else 'memory'}, data dir {settings.data_dir}"
    )
    return 0


def build_parser(settings: Settings | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hitcircle", description="an osu! server")
    parser.add_argument("--config", help="path to hitcircle.toml (default: config/hitcircle.toml)")
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
    sub.add_parser("plugins", help="list plugins: name, enabled, source").set_defaults(
        func=cmd_plugins
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
    config_sub.add_parser("check", help="validate the configuration").set_defaults(
        func=cmd_config_check
    )
    if settings is not None:
        load(settings).hook.commands(cli=sub)
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
        # Plugins may add commands, so settings and plugins are loaded before parsing; the
        # built-in commands still work (and report the problem) when that fails.
        try:
            settings: Settings | None = load_settings(_preparse_config(argv))
        except ConfigError:
            settings = None
        try:
            parser = build_parser(settings)
        except (PluginError, ConfigError):
            # A plugin or a plugin's setting is broken: the built-in commands still run (and
            # `config check` names the problem in one line).
            parser = build_parser(None)
        args = parser.parse_args(argv)
        func: Callable[[argparse.Namespace], int] = args.func
        return func(args)
    except OPERATOR_ERRORS as exc:
        print(f"hitcircle: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
