"""The `hitcircle` command as an operator runs it: in a subprocess, reading its output."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.config import Settings

from .conftest import ROOT, LiveServer, settings_env


def hitcircle(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`hitcircle ARGS` in a subprocess, in `cwd`, with no config file unless `env` names one.

    hitcircle comes from this checkout (PYTHONPATH) wherever the command runs."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_")}
    base["HITCIRCLE_CONFIG"] = "none"
    path = os.pathsep.join(filter(None, [(env or {}).get("PYTHONPATH"), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args],
        env=base | (env or {}) | {"PYTHONPATH": path},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_config_check_ok(tmp_path: Path) -> None:
    result = hitcircle("config", "check", env={"HITCIRCLE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "config file: none (defaults and environment)",
        f"data dir: {tmp_path}",
        f"database: sqlite:///{tmp_path / 'hitcircle.db'}",
        "cache: memory",
        f"config ok: {len(builtin_plugins())} plugins, storage local, every section checked",
    ]


def builtin_plugins() -> list[str]:
    import pkgutil

    import plugins

    return [m.name for m in pkgutil.iter_modules(plugins.__path__) if not m.name.startswith("_")]


def test_bad_config_value_is_one_line() -> None:
    result = hitcircle("config", "check", env={"HITCIRCLE_SERVER_PORT": "eighty"})
    assert result.returncode == 2
    assert (
        result.stderr
        == "hitcircle: config error: server.port: expected a whole number, got 'eighty'\n"
    )


def test_bad_config_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "hitcircle.toml"
    path.write_text("[database]\nurl = 5\n")
    result = hitcircle("--config", str(path), "serve")
    assert result.returncode == 2
    assert result.stderr == "hitcircle: config error: database.url: expected a string, got 5\n"


def test_missing_database_is_one_line() -> None:
    result = hitcircle(
        "serve",
        env={
            "HITCIRCLE_DATABASE_URL": "mysql://root@127.0.0.1:1/nothing",
            "HITCIRCLE_DATABASE_CONNECT_ATTEMPTS": "2",
            "HITCIRCLE_DATABASE_CONNECT_BACKOFF": "0.01",
        },
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "hitcircle: database mysql://root@127.0.0.1:1/nothing unreachable after 2 attempts"
    )
    assert "Traceback" not in result.stderr


def test_plugin_that_raises_on_import_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "exploding.py").write_text("raise ImportError('needs libfoo')\n")
    result = hitcircle(
        "serve",
        env={
            "PYTHONPATH": str(tmp_path),
            "HITCIRCLE_PLUGINS_MODULES": "exploding",
            "HITCIRCLE_DATA_DIR": str(tmp_path),
        },
    )
    assert result.returncode == 1
    assert result.stderr == (
        "hitcircle: plugin 'exploding' (exploding) failed to import: ImportError: needs libfoo\n"
    )


def test_migrate_a_fresh_database(tmp_path: Path) -> None:
    result = hitcircle("migrate", env={"HITCIRCLE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "migrated sqlite:///" in result.stdout
    assert (tmp_path / "hitcircle.db").exists()


def test_serve_refuses_workers_without_redis() -> None:
    result = hitcircle("serve", "--workers", "2")
    assert result.returncode == 2
    assert "server.workers: more than one worker needs Redis" in result.stderr


# --- a third-party plugin installed as a package --------------------------------------------------


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """tests/plugin_dist installed with pip into a folder the subprocesses put on their path."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    source = build / "plugin_dist"
    # Build from a copy: pip leaves build/ and *.egg-info beside the sources otherwise.
    import shutil

    shutil.copytree(ROOT / "tests" / "plugin_dist", source)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    yield target


def test_plugins_lists_the_package(plugin_site: Path) -> None:
    result = hitcircle("plugins", env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in result.stdout.splitlines()[1:]}
    assert rows["hello"] == ["yes", "package hitcircle-hello 0.1.0"]
    assert rows["storage_local"] == ["yes", "built-in"]
    disabled = hitcircle(
        "plugins", env={"PYTHONPATH": str(plugin_site), "HITCIRCLE_PLUGINS_DISABLED": "hello"}
    )
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in disabled.stdout.splitlines()[1:]}
    assert rows["hello"] == ["no", "package hitcircle-hello 0.1.0"]


@pytest.mark.parametrize(("disabled", "status"), [("", 200), ("hello", 404)])
def test_package_route_is_served_until_disabled(
    settings: Settings, plugin_site: Path, disabled: str, status: int
) -> None:
    server = LiveServer(
        settings, {"PYTHONPATH": str(plugin_site), "HITCIRCLE_PLUGINS_DISABLED": disabled}
    )
    server.start()
    try:
        response = httpx.get(f"{server.url}/hello/")
        assert response.status_code == status
        if status == 200:
            assert response.json() == {"hello": "from a package"}
    finally:
        server.stop()


def test_the_package_passes_its_own_tests(plugin_site: Path, tmp_path: Path) -> None:
    """tests/plugin_dist/tests, run as its author runs them: `pytest` in the distribution's
    folder, on hitcircle's pytest plugin (`core.testing`, found by its `pytest11` entry point)
    and nothing of this suite (its conftest is not on the way)."""
    import shutil

    source = tmp_path / "plugin_dist"
    shutil.copytree(ROOT / "tests" / "plugin_dist", source)
    # The embedded backend only: a MariaDB pass would drop this run's tables to migrate its own.
    env = {k: v for k, v in os.environ.items() if not k.startswith("HITCIRCLE_") and k != "CI"}
    # hitcircle from this checkout (ROOT), as the other subprocesses get it by running in ROOT:
    # an installed copy of another checkout would test the plugin against other code.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        env=env | {"PYTHONPATH": os.pathsep.join([str(plugin_site), str(ROOT)])},
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout


def test_serve_answers_on_the_embedded_default(settings: Settings) -> None:
    server = LiveServer(settings)
    server.start()
    try:
        response = httpx.get(f"{server.url}/health")
        assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
        assert response.headers["content-type"] == "application/json"
    finally:
        server.stop()


def test_settings_env_round_trips(settings: Settings) -> None:
    env = settings_env(settings)
    assert env["HITCIRCLE_DATABASE_URL"] == settings.database_url


@pytest.mark.parametrize(
    "command",
    [
        ["migrate"],
        ["plugins"],
        ["config", "check"],
        ["user", "create", "newcomer", "--password", "a long password", "--email", "n@e.example"],
        ["oauth", "create-client", "bot", "--json"],
        ["recalc"],
        ["jobs"],
        ["beatmaps", "import", "MAP"],
    ],
    ids=lambda command: "-".join(command[:2]),
)
def test_every_command_works_on_a_new_data_directory(tmp_path: Path, command: list[str]) -> None:
    """Before the first `serve`: each command brings up the embedded schema as `serve` does."""
    from tests.beatmaps.support import make_osu

    data = tmp_path / "data"
    beatmap = tmp_path / "map.osu"
    beatmap.write_bytes(make_osu(beatmap_id=41, set_id=40))
    args = [str(beatmap) if arg == "MAP" else arg for arg in command]
    result = hitcircle(*args, env={"HITCIRCLE_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if command[0] in ("plugins", "config"):
        return  # neither needs the database
    import sqlite3

    with sqlite3.connect(data / "hitcircle.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall()
        if command[0] == "beatmaps":
            assert db.execute("SELECT id FROM beatmaps").fetchall() == [(41,)]
        if command[0] == "user":
            assert db.execute("SELECT username FROM users").fetchall() == [("newcomer",)]


def test_a_bad_plugin_setting_leaves_the_built_in_commands(tmp_path: Path) -> None:
    env = {"HITCIRCLE_DATA_DIR": str(tmp_path), "HITCIRCLE_PP_CALCULATOR": "nothing_here"}
    listed = hitcircle("plugins", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "pp_rosu" in listed.stdout
    checked = hitcircle("config", "check", env=env)
    assert checked.returncode == 2
    assert checked.stderr.startswith("hitcircle: config error: pp.calculator:")
    assert len(checked.stderr.splitlines()) == 1


def test_jobs_lists_every_job_and_its_last_run(tmp_path: Path) -> None:
    import asyncio
    import re
    import time

    from core.app import standalone
    from core.config import load_settings
    from core.jobs import record_run

    config = tmp_path / "hitcircle.toml"
    config.write_text(f"[data]\ndir = {str(tmp_path / 'data')!r}\n")
    env = {"HITCIRCLE_CONFIG": str(config)}
    before = hitcircle("jobs", env=env)
    assert before.returncode == 0, before.stderr
    lines = before.stdout.splitlines()
    assert lines[0].split()[:3] == ["job", "every", "runs"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert {"oauth-token-purge", "rank-history", "score-token-purge"} <= set(by_name)
    assert "1h" in by_name["oauth-token-purge"] and "one worker" in by_name["oauth-token-purge"]
    assert "every worker" in by_name["rank-history"] and "never" in by_name["rank-history"]

    async def record() -> None:
        async with standalone(load_settings(config, env={})) as host:
            db = host.services.db
            await record_run(db, "rank-history", time.time(), 0.25, None, "host:1")
            await record_run(db, "rank-history", time.time(), 1.5, "OSError: full", "host:2")
            await record_run(db, "retired-job", time.time(), 0.1, None, "host:1")

    asyncio.run(record())
    after = hitcircle("jobs", env=env)
    by_name = {line.split()[0]: line for line in after.stdout.splitlines()[1:]}
    assert re.search(
        r" 1\.50s\s+2\s+1\s+failed: OSError: full \(host:2\)$", by_name["rank-history"]
    )
    assert "not enabled" in by_name["retired-job"]


# --- configuration checked before serving -------------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "line"),
    [
        (
            '[scores]\ntoken_lifetime = "one day"\n',
            "config error: scores.token_lifetime: expected a whole number, got 'one day'",
        ),
        (
            "[chat]\nmesage_length_limit = 300\n",
            "config error: chat.mesage_length_limit: unknown key "
            "(did you mean message_length_limit?)",
        ),
        ("[chta]\n", "config error: [chta]: unknown section (did you mean [chat]?)"),
        (
            '[storage]\nbackend = "floppy"\n',
            "config error: storage.backend: 'floppy' is not provided by any enabled plugin "
            "(available: local, s3)",
        ),
        (
            '[storage]\nbackend = "s3"\n',
            "config error: storage_s3.bucket: is required for storage.backend = 's3'",
        ),
    ],
    ids=["type", "key", "section", "storage", "storage-settings"],
)
def test_plugin_sections_are_checked_before_serving(tmp_path: Path, toml: str, line: str) -> None:
    config = tmp_path / "hitcircle.toml"
    config.write_text(toml)
    result = hitcircle("serve", env={"HITCIRCLE_CONFIG": str(config)})
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"hitcircle: {line}\n")
    # serve stopped in its own process: no database was made, no worker started.
    assert not (tmp_path / "data").exists()
    if "storage" in toml:  # config check runs the same checks (it used to pass this one)
        checked = hitcircle("config", "check", env={"HITCIRCLE_CONFIG": str(config)})
        assert (checked.returncode, checked.stderr) == (2, f"hitcircle: {line}\n")


def test_unknown_variable_names_the_closest(tmp_path: Path) -> None:
    result = hitcircle(
        "config", "check", env={"HITCIRCLE_DATA_DIR": str(tmp_path), "HITCIRCLE_DATABSE_URL": "x"}
    )
    assert result.returncode == 2
    assert result.stderr == (
        "hitcircle: config error: HITCIRCLE_DATABSE_URL: not a setting "
        "(did you mean HITCIRCLE_DATABASE_URL?)\n"
    )


def test_a_broken_config_still_lists_every_command(tmp_path: Path) -> None:
    config = tmp_path / "hitcircle.toml"
    config.write_text("[chat]\nmesage_length_limit = 300\n")
    env = {"HITCIRCLE_CONFIG": str(config)}
    listed = hitcircle("--help", env=env)
    assert listed.returncode == 0
    for command in ("serve", "user", "oauth", "beatmaps", "recalc"):
        assert command in listed.stdout
    assert "usage: hitcircle user" in hitcircle("user", "--help", env=env).stdout
    ran = hitcircle(
        "user", "create", "a", "--password", "a long password", "--email", "a@b.c", env=env
    )
    assert ran.returncode == 2
    assert ran.stderr == (
        "hitcircle: config error: chat.mesage_length_limit: unknown key "
        "(did you mean message_length_limit?)\n"
    )
    # Even a file that is no TOML at all.
    config.write_text("[chat")
    assert "beatmaps" in hitcircle("--help", env=env).stdout
    broken = hitcircle("user", "create", "a", "--password", "x", "--email", "a@b.c", env=env)
    assert broken.returncode == 2
    assert broken.stderr.startswith(f"hitcircle: config error: {config}: not valid TOML")
    assert len(broken.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (
            ("--config", "/no/such/hitcircle.toml"),
            {},
            "config error: --config: /no/such/hitcircle.toml: no such file",
        ),
        (
            (),
            {"HITCIRCLE_CONFIG": "/no/such.toml"},
            "config error: HITCIRCLE_CONFIG: /no/such.toml",
        ),
    ],
)
def test_a_named_config_file_that_is_missing_is_an_error(
    args: tuple[str, ...], env: dict[str, str], line: str
) -> None:
    result = hitcircle(*args, "config", "check", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith(f"hitcircle: {line}")
    assert len(result.stderr.splitlines()) == 1


def test_commands_work_from_any_directory(tmp_path: Path) -> None:
    """The config file is found from a subdirectory, and data/ beside config/ whatever the
    current directory: `user create` from deep inside writes the instance's database."""
    instance = tmp_path / "instance"
    (instance / "config").mkdir(parents=True)
    (instance / "config" / "hitcircle.toml").write_text('[data]\ndir = "data"\n')
    deep = instance / "a" / "b"
    deep.mkdir(parents=True)
    env = {"HITCIRCLE_CONFIG": ""}  # unset: the search finds the file
    checked = hitcircle("config", "check", env=env, cwd=deep)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines()[:2] == [
        f"config file: {instance / 'config' / 'hitcircle.toml'}",
        f"data dir: {instance / 'data'}",
    ]
    made = hitcircle(
        "user",
        "create",
        "far",
        "--password",
        "a long password",
        "--email",
        "f@e.example",
        env=env,
        cwd=deep,
    )
    assert made.returncode == 0, made.stderr
    import sqlite3

    with sqlite3.connect(instance / "data" / "hitcircle.db") as db:
        assert db.execute("SELECT username FROM users").fetchall() == [("far",)]
    assert not (deep / "data").exists()
    # From elsewhere, naming the file: the same instance.
    named = hitcircle(
        "--config", str(instance / "config" / "hitcircle.toml"), "config", "check", cwd=tmp_path
    )
    assert f"data dir: {instance / 'data'}" in named.stdout


def test_config_check_connect_reports_each_in_one_line(tmp_path: Path) -> None:
    env = {
        "HITCIRCLE_DATA_DIR": str(tmp_path),
        "HITCIRCLE_DATABASE_URL": "mysql://root@127.0.0.1:1/nothing",
        "HITCIRCLE_REDIS_URL": "redis://127.0.0.1:1/0",
        "HITCIRCLE_DATABASE_CONNECT_TIMEOUT": "1",
    }
    result = hitcircle("config", "check", "--connect", env=env)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[-2].startswith(
        "database: database mysql://root@127.0.0.1:1/nothing unreachable after 1 attempts"
    )
    assert lines[-1].startswith("redis: redis redis://127.0.0.1:1/0 unreachable after 1 attempt:")
    assert "Traceback" not in result.stderr
    fine = hitcircle("config", "check", "--connect", env={"HITCIRCLE_DATA_DIR": str(tmp_path)})
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.splitlines()[-2:] == [
        f"database: sqlite:///{tmp_path / 'hitcircle.db'} does not exist yet "
        "(serve or migrate creates it)",
        "redis: not configured (in-process memory cache)",
    ]


def test_serve_with_redis_down_is_one_line(tmp_path: Path) -> None:
    result = hitcircle(
        "serve",
        env={
            "HITCIRCLE_DATA_DIR": str(tmp_path),
            "HITCIRCLE_REDIS_URL": "redis://127.0.0.1:1/0",
            "HITCIRCLE_DATABASE_CONNECT_ATTEMPTS": "2",
            "HITCIRCLE_DATABASE_CONNECT_BACKOFF": "0.01",
        },
    )
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "hitcircle: redis redis://127.0.0.1:1/0 unreachable after 2 attempts: ConnectionError"
        )
    )
    assert "Traceback" not in result.stderr


def test_serve_with_a_wrong_password_fails_at_once(tmp_path: Path) -> None:
    """A refused sign-in is not retried: one line, whatever connect_attempts says."""
    text = tmp_path / "text.db"
    text.write_text("this is a text file, not a database\n" * 200)
    text.chmod(0o600)  # no warning about who may read it: the one line is the point
    result = hitcircle(
        "serve",
        env={
            "HITCIRCLE_DATA_DIR": str(tmp_path),
            # A file that is no database refuses as a wrong password does, on any machine.
            "HITCIRCLE_DATABASE_URL": f"sqlite:///{text}",
            "HITCIRCLE_DATABASE_CONNECT_ATTEMPTS": "50",
            "HITCIRCLE_DATABASE_CONNECT_BACKOFF": "10",
        },
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"hitcircle: database sqlite:///{text} refused: file is not a database\n"
    )
