"""The operator's own content: news posts, wiki pages and this server's changelog, read from
Markdown files with front matter under the data directory (`[content] dir`).

`documents` reads a file (front matter and body, cached by modification time so a changed file is
seen without a restart), `render` turns Markdown into HTML, and `news`, `wiki` and `changelog`
build the official API shapes (ppy/osu-web NewsPostTransformer, WikiPageTransformer,
BuildTransformer) from them.
"""
