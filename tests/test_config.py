from pathlib import Path

import pytest

from core.config import ConfigError, load_settings, settings_from


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
    example = Path(__file__).resolve().parent.parent / "config" / "hitcircle.example.toml"
    assert load_settings(example, env={}) == settings_from({}, {})
