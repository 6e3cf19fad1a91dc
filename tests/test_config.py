import re
from pathlib import Path
from typing import Any

import pytest

from core.config import (
    ConfigError,
    Key,
    Section,
    check_sections,
    find_config,
    load_settings,
    settings_from,
)
from core.plugins import load
from core.sections import core_sections

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config" / "hitcircle.example.toml"


def test_defaults_are_the_embedded_server() -> None:
    settings = settings_from({}, {})
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    assert settings.database_url == "sqlite:///data/hitcircle.db"
    assert settings.redis.url == ""
    assert settings.public_url == "http://127.0.0.1:8000"


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "hitcircle.toml"
    path.write_text('[server]\nport = 9000\n[plugins]\ndisabled = ["a"]\n[data]\ndir = "/srv/x"\n')
    settings = load_settings(path, env={"HITCIRCLE_SERVER_PORT": "9100"})
    assert settings.server.port == 9100
    assert settings.plugins.disabled == ("a",)
    assert settings.database_url == "sqlite:////srv/x/hitcircle.db"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HITCIRCLE_DATABASE_URL", "mysql://root@127.0.0.1/test", "mysql://root@127.0.0.1/test"),
        ("HITCIRCLE_REDIS_URL", "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("HITCIRCLE_DATA_DIR", "/var/lib/hc", "/var/lib/hc"),
        ("HITCIRCLE_PLUGINS_DISABLED", "api_v1, chat", ("api_v1", "chat")),
        ("HITCIRCLE_RATELIMIT_ENABLED", "false", False),
        ("HITCIRCLE_DATABASE_CONNECT_BACKOFF", "0.25", 0.25),
        (
            "HITCIRCLE_RATELIMIT_GROUPS",
            "/api=10/second,/oauth=none",
            {"/api": "10/second", "/oauth": "none"},
        ),
    ],
)
def test_every_key_has_an_environment_variable(name: str, value: str, expected: object) -> None:
    settings = settings_from({}, {name: value})
    section, _, key = name.removeprefix("HITCIRCLE_").lower().partition("_")
    assert getattr(getattr(settings, section), key) == expected


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        ({"server": {"port": "eighty"}}, {}, "server.port: expected a whole number"),
        ({}, {"HITCIRCLE_SERVER_PORT": "70000"}, "server.port: must be between 1 and 65535"),
        ({"database": {"url": "postgres://x"}}, {}, "database.url: unsupported URL"),
        ({"server": {"prot": 1}}, {}, "server.prot: unknown key"),
        ({"redis": {"url": "localhost:6379"}}, {}, "redis.url: expected redis://"),
        ({"ratelimit": {"default": "lots"}}, {}, "ratelimit.default: expected a limit"),
        ({"server": {"workers": 4}}, {}, "server.workers: more than one worker needs Redis"),
        ({"plugins": {"disabled": "chat"}}, {}, "plugins.disabled: expected a list of strings"),
        ({"server": 3}, {}, "server: must be a [section]"),
        ({}, {"HITCIRCLE_RATELIMIT_ENABLED": "maybe"}, "ratelimit.enabled: expected true or false"),
    ],
)
def test_wrong_values_name_the_key(raw: dict, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from(raw, env)
    text = str(info.value)
    assert text.startswith("config error: ")
    assert message in text
    assert "\n" not in text


def test_broken_toml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "hitcircle.toml"
    path.write_text("[server\nport = 1")
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    assert "not valid TOML" in str(info.value)
    assert "\n" not in str(info.value)


def test_plugin_sections_take_types_from_defaults() -> None:
    settings = settings_from(
        {"oauth": {"lazer_client_id": 5}}, {"HITCIRCLE_OAUTH_TOKEN_TTL": "3600"}
    )
    values = settings.section("oauth", {"lazer_client_id": 1, "token_ttl": 86400, "name": "x"})
    assert values == {"lazer_client_id": 5, "token_ttl": 3600, "name": "x"}
    with pytest.raises(ConfigError, match=r"oauth\.lazer_client_id"):
        settings_from({"oauth": {"lazer_client_id": "five"}}, {}).section(
            "oauth", {"lazer_client_id": 1}
        )
    with pytest.raises(ConfigError, match=r"oauth\.typo: unknown key"):
        settings_from({"oauth": {"typo": 1}}, {}).section("oauth", {"lazer_client_id": 1})


def test_example_config_is_valid_and_matches_defaults() -> None:
    example = load_settings(EXAMPLE, env={})
    load(example)  # every section it sets passes the plugins' checks
    # It lies in config/, so its `data` is the checkout's data/ (as the README says).
    assert example.data_dir == ROOT / "data"
    assert example.config_path == EXAMPLE
    defaults = settings_from({}, {})
    for name in ("server", "database", "redis", "plugins", "ratelimit", "storage", "log"):
        assert getattr(example, name) == getattr(defaults, name), name


def test_example_config_documents_every_declared_key() -> None:
    """Each key of each core and built-in plugin section appears in the example, with its
    default (commented out or not)."""
    text = EXAMPLE.read_text()
    pm = load(settings_from({}, {}))
    sections = [*core_sections(), *(s for r in pm.hook.settings_sections() for s in r or ())]
    assert {s.name for s in sections} >= {"chat", "scores", "oauth", "beatmaps_upstream"}
    for section in sections:
        assert re.search(rf"^#? ?\[{section.name}\]$", text, re.M), section.name
        for key in section.keys:
            assert re.search(rf"^#? ?{key.name} = ", text, re.M), f"{section.name}.{key.name}"


# --- every section is checked when the plugins load -------------------------------------------


def load_error(raw: dict[str, Any], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(settings_from(raw, env or {}))
    text = str(info.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize(
    ("raw", "env", "message"),
    [
        (
            {"scores": {"token_lifetime": "one day"}},
            {},
            "scores.token_lifetime: expected a whole number, got 'one day'",
        ),
        (
            {"chat": {"mesage_length_limit": 300}},
            {},
            "chat.mesage_length_limit: unknown key (did you mean message_length_limit?)",
        ),
        ({"chat": {"public_limit": 0}}, {}, "chat.public_limit: must be at least 1, got 0"),
        (
            {"chat": {"message_length_limit": 10**9}},
            {},
            "chat.message_length_limit: must be between 1 and",
        ),
        (
            {},
            {"HITCIRCLE_SIGNALR_KEEPALIVE_INTERVAL": "-1"},
            "signalr.keepalive_interval: must be positive, got -1.0",
        ),
        (
            {"beatmaps_local": {"default_status": "rankd"}},
            {},
            "beatmaps_local.default_status: expected one of ranked, approved",
        ),
        (
            {"beatmaps_upstream": {"base_url": "osu.ppy.sh"}},
            {},
            "beatmaps_upstream.base_url: expected an http(s) URL",
        ),
        (
            {"scores": {"download_limit": "lots"}},
            {},
            "scores.download_limit: expected a limit like '60/minute'",
        ),
        ({"auth": {"bcrypt_rounds": 40}}, {}, "auth.bcrypt_rounds: must be between 4 and 31"),
        ({"chta": {"public_limit": 5}}, {}, "[chta]: unknown section (did you mean [chat]?)"),
        ({}, {"HITCIRCLE_SERVER_PROT": "80"}, "HITCIRCLE_SERVER_PROT: not a setting (did you mean"),
        (
            {},
            {"HITCIRCLE_CHAT_MESAGE_LENGTH_LIMIT": "80"},
            "did you mean HITCIRCLE_CHAT_MESSAGE_LENGTH_LIMIT?",
        ),
        ({"storage": {"backend": "floppy"}}, {}, "storage.backend: 'floppy' is not provided"),
        ({"storage": {"backend": "s3"}}, {}, "storage_s3.bucket: is required"),
        (
            {"plugins": {"disabled": ["maps_upstrem"]}},
            {},
            "plugins.disabled: no plugin named 'maps_upstrem' is installed "
            "(did you mean 'maps_upstream'?)",
        ),
    ],
)
def test_sections_are_checked_at_load(raw: dict, env: dict, message: str) -> None:
    assert message in load_error(raw, env)


def test_other_variables_and_disabled_plugins_sections_are_not_errors() -> None:
    env = {
        "HITCIRCLE_CONFIG": "none",
        "HITCIRCLE_PURE_CODEC": "1",
        "HITCIRCLE_TEST_MYSQL_URL": "x",
        "HITCIRCLE_BENCH_BODY": "x",
        # A disabled plugin's variables are kept for when it is enabled again.
        "HITCIRCLE_BEATMAPS_UPSTREAM_TIMEOUT": "not even a number",
    }
    raw = {
        "plugins": {"disabled": ["maps_upstream", "spectator"]},
        "beatmaps_upstream": {"timeout": "soon", "typo": 1},
        "spectator": {"buffer_ttl": 1.0},
    }
    load(settings_from(raw, env))
    # Enabled, the same section is checked.
    raw["plugins"] = {}
    assert "beatmaps_upstream.typo: unknown key" in load_error(raw, {})


def test_values_are_read_checked_and_typed() -> None:
    settings = settings_from(
        {"chat": {"message_length_limit": 300}}, {"HITCIRCLE_SCORES_LOCK_TIMEOUT": "2"}
    )
    load(settings)
    from core.chat.service import chat_settings
    from core.scores.submit import score_settings

    assert chat_settings(settings)["message_length_limit"] == 300
    assert score_settings(settings)["lock_timeout"] == 2.0
    # A copy each time: a caller changing it changes nothing for the next.
    chat_settings(settings)["message_length_limit"] = 1
    assert chat_settings(settings)["message_length_limit"] == 300


def test_a_section_declared_twice_is_an_error() -> None:
    twice = [Section("x", (Key("a", 1),)), Section("x", (Key("b", 1),))]
    with pytest.raises(ConfigError, match=r"\[x\]: declared twice"):
        check_sections(settings_from({}, {}), twice)


# --- where the files are ----------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_config_file_is_found_from_any_subdirectory(tmp_path: Path) -> None:
    config = write(tmp_path / "config" / "hitcircle.toml", "")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_config(None, {}, cwd=deep) == config
    assert find_config(None, {}, cwd=tmp_path) == config
    elsewhere = tmp_path.parent / f"{tmp_path.name}-other"
    elsewhere.mkdir()
    assert find_config(None, {}, cwd=elsewhere) is None
    # The flag wins over the variable, which wins over the search; "none" is no file.
    other = write(tmp_path / "other.toml", "")
    assert find_config(other, {"HITCIRCLE_CONFIG": str(config)}, cwd=deep) == other
    assert find_config(None, {"HITCIRCLE_CONFIG": str(other)}, cwd=deep) == other
    assert find_config(None, {"HITCIRCLE_CONFIG": "none"}, cwd=deep) is None


@pytest.mark.parametrize(
    ("path", "env", "message"),
    [
        ("missing.toml", {}, "config error: --config: missing.toml: no such file"),
        (None, {"HITCIRCLE_CONFIG": "/no/such.toml"}, "HITCIRCLE_CONFIG: /no/such.toml: no such"),
        (".", {}, "config error: --config: .: is a directory"),
    ],
)
def test_a_named_config_file_that_is_missing_is_an_error(
    path: str | None, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(path, env=env)
    assert message in str(info.value)


def test_relative_paths_are_relative_to_the_instance_directory(tmp_path: Path) -> None:
    text = '[database]\nurl = "sqlite:///db/x.db"\n[auth]\nprivate_key = "keys/k.pem"\n'
    # <instance>/config/hitcircle.toml: the instance is the folder holding config/.
    settings = load_settings(write(tmp_path / "config" / "hitcircle.toml", text), env={})
    assert settings.base_dir == tmp_path
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'db' / 'x.db'}"
    from core.auth import auth_settings

    assert auth_settings(settings)["private_key"] == str(tmp_path / "keys" / "k.pem")
    # Any other file: its own folder.
    settings = load_settings(write(tmp_path / "etc" / "hc.toml", '[data]\ndir = "state"\n'), env={})
    assert settings.data_dir == tmp_path / "etc" / "state"
    # Absolute paths stay; the environment's are relative to the current directory as given.
    settings = load_settings(
        write(tmp_path / "abs.toml", f'[data]\ndir = "{tmp_path / "abs"}"\n'), env={}
    )
    assert settings.data_dir == tmp_path / "abs"
    settings = load_settings(tmp_path / "abs.toml", env={"HITCIRCLE_DATA_DIR": "rel"})
    assert settings.data_dir == Path("rel")
