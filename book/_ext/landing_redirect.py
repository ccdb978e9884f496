"""Write the site's ``index.html`` as a real page that forwards to the landing page.

Jupyter Book's default ``index.html`` is a bare meta refresh: it has no title, and a
browser or reader that does not follow the refresh sees an empty page. This one has the
book's title, the same refresh, and a visible link. It runs before the default writer,
which then leaves an existing ``index.html`` alone.
"""

from html import escape
from pathlib import Path

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta http-equiv="Refresh" content="0; url={target}">
<link rel="canonical" href="{target}">
</head>
<body>
<p><a href="{target}">{title}</a>: the book starts here.</p>
</body>
</html>
"""


def write_index(app, exception):
    if exception is not None or "html" not in app.builder.format:
        return
    root = app.config.master_doc
    if root == "index":
        return
    target = f"{root}/index.html" if app.builder.name == "dirhtml" else f"{root}.html"
    title = escape(app.config.html_title or app.config.project)
    Path(app.outdir, "index.html").write_text(PAGE.format(title=title, target=target),
                                              encoding="utf-8")


def setup(app):
    # Before sphinx-external-toc's own writer (priority 500), which skips an existing file.
    app.connect("build-finished", write_index, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
