"""The README's promises: its commands exist and its plugin example works as printed."""

import re
from pathlib import Path

import httpx
import pytest

from core.app import create_app
from core.config import Settings

from .conftest import ROOT, running

README = (ROOT / "README.md").read_text()


def block_after(marker: str) -> str:
    match = re.search(rf"<!-- {marker} -->\s*```\w*\n(.*?)```", README, re.S)
    assert match, f"README has no block after <!-- {marker} -->"
    return match.group(1)


def test_set_up_is_two_commands() -> None:
    assert block_after("serve-command").strip() == "pip install -e . && hitcircle serve"
    assert block_after("test-command").strip() == (
        "pip install -e '.[test]' && python -m pytest -n auto"
    )


async def test_plugin_example_runs(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_plugin.py").write_text(block_after("plugin-example"))
    monkeypatch.syspath_prepend(str(tmp_path))
    app = create_app(settings.replace(plugins={"modules": ("my_plugin",)}))
    async with running(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.get("/hello/peppy")
    assert response.status_code == 200
    assert response.json() == {"hello": "peppy"}
