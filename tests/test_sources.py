"""Comments and docstrings cite public sources only (ppy/osu, ppy/osu-web, ppy/osu-server-spectator,
MessagePack-CSharp, the ASP.NET Core SignalR docs, ...), never spec files outside the repository.
"""

import re
from pathlib import Path

from .conftest import ROOT

# Spec documents that are not part of the repository, and bare section references (`§6.4`,
# `(spec 4.6)`, `spec/api.md`).
PRIVATE = re.compile(r"\b(api|lazer|DESIGN)\.md\b|§|\(spec\s|\bspec \d|\bspec/")
TREES = ("core", "plugins", "tests", "migrations")


def sources() -> list[Path]:
    found = [p for tree in TREES for p in sorted((ROOT / tree).rglob("*.py"))]
    found += sorted((ROOT / "native" / "src").rglob("*.rs"))
    return [p for p in found if p.resolve() != Path(__file__).resolve()]


def test_no_citation_of_files_outside_the_repository() -> None:
    files = sources()
    assert any(p.name == "app.py" for p in files)  # the walk found the code
    bad = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if PRIVATE.search(line)
    ]
    assert not bad, "cite the public source instead:\n" + "\n".join(bad)
