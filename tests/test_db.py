import pytest

from core import db
from core.config import settings_from


async def test_unreachable_database_is_one_line_after_bounded_retries() -> None:
    settings = settings_from(
        {
            "database": {
                "url": "mysql://root:hunter2@127.0.0.1:1/x",
                "connect_attempts": 2,
                "connect_backoff": 0.01,
            }
        },
        {},
    )
    with pytest.raises(db.DatabaseUnavailable) as info:
        await db.connect(settings)
    message = str(info.value)
    assert message.startswith(
        "database mysql://root:***@127.0.0.1:1/x unreachable after 2 attempts"
    )
    assert "hunter2" not in message
    assert "\n" not in message


async def test_sqlite_connects_and_creates_its_folder(tmp_path) -> None:
    settings = settings_from({"data": {"dir": str(tmp_path / "new" / "dir")}}, {})
    database = await db.connect(settings)
    try:
        assert await database.fetch_val("SELECT 1") == 1
        assert await database.fetch_val("PRAGMA journal_mode") == "wal"
    finally:
        await database.disconnect()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql://u:p@h/d", "mysql://u:***@h/d"),
        ("mysql://u@h/d", "mysql://u@h/d"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
    ],
)
def test_redact(url: str, expected: str) -> None:
    assert db.redact(url) == expected
