"""Markdown to HTML for the shapes that carry HTML (news `content`, changelog `message_html`,
comment `message_html`)."""

from __future__ import annotations

import html
import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@cache
def _renderer(allow_html: bool) -> MarkdownIt:
    # Imported here, on the first text rendered: not every worker renders Markdown (memory at
    # start-up).
    from markdown_it import MarkdownIt

    # CommonMark with tables and strikethrough; with `html` off, raw HTML in the source is
    # escaped, and markdown-it refuses `javascript:`-style link targets either way.
    return MarkdownIt("commonmark", {"html": allow_html}).enable(["table", "strikethrough"])


def to_html(markdown: str, *, allow_html: bool = False) -> str:
    """HTML of `markdown`. `allow_html` only for the operator's own files, never users' text."""
    rendered: str = _renderer(allow_html).render(markdown)
    return rendered


_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.S)
_TAG = re.compile(r"<[^>]+>")


def first_paragraph(rendered: str) -> str | None:
    """The text of the first paragraph of rendered HTML (osu-web `first_paragraph`), or None."""
    for match in _PARAGRAPH.finditer(rendered):
        text = html.unescape(_TAG.sub("", match.group(1))).strip()
        if text:
            return text
    return None


def first_image(markdown: str) -> str | None:
    """The first image's address in Markdown, or None."""
    match = re.search(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)", markdown)
    return match.group(1) if match else None
