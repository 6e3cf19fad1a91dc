"""A small content folder: news posts, wiki pages and releases, as an operator writes them."""

from __future__ import annotations

from pathlib import Path

NEWS = {
    "2026-01-10-first-light.md": """---
title: First light
date: 2026-01-10 12:00:00 +0000
---

![banner](/images/first.png)

The server is open. Come and *play*.

Second paragraph.

—Alice
""",
    "2025-12-20-winter.md": """---
title: Winter update
date: 2025-12-20T08:00:00Z
author: Bob
---

Snow on the [maps](https://example.com/maps).
""",
    "2024-05-01-old-news.md": """---
title: Old news
id: 42
date: 2024-05-01
---

From long ago.
""",
    "2099-01-01-not-yet.md": """---
title: From the future
date: 2099-01-01
---

Not published yet.
""",
    "broken.md": "---\ntitle: [unclosed\n---\nbody\n",
}

WIKI = {
    "Main_page/en.md": "---\nlayout: main_page\n---\n\n# Main page\n\nWelcome.\n",
    "People/en.md": "# People\n\nWho is who.\n",
    "People/The_Team/en.md": "---\ntags:\n  - staff\n  - team\n---\n\n# The Team\n\nWe run it.\n",
    "People/The_Team/fr.md": "---\ntags:\n  - équipe\n---\n\n# L'équipe\n\nNous.\n",
    "Help/en.md": "Help without a heading.\n",
}

CHANGELOG = {
    "2026.1115.0.md": "---\ndate: 2026-11-15\n---\n",
    "2026.1201.0.md": """---
version: 2026.1201.0
date: 2026-12-01T10:00:00Z
youtube_id: abc123
entries:
  - type: add
    category: Comments
    title: Comments on news posts
    message: "Players can **comment** now. <b>bold</b>"
    major: true
    author: alice
    repository: example/hitcircle
    github_pull_request_id: 12
  - type: fix
    title: Wiki falls back to English
---
""",
    "2026.1202.0.md": "---\ndate: 2026-12-02\nentries:\n  - title: Small fixes\n---\n",
}


def write_content(root: Path) -> Path:
    """Write the folder under `root` (the data folder's `content`); returns it."""
    for section, files in (("news", NEWS), ("wiki", WIKI), ("changelog", CHANGELOG)):
        for name, text in files.items():
            path = root / section / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return root
