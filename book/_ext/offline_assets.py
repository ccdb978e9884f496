"""Serve the site's third-party browser files from the site itself.

``scripts/vendor_assets.py`` unpacks MathJax, from the npm registry, into
``_vendor/static``. After the HTML build this extension copies that folder into the
site's ``_static``, and ``mathjax_path`` in ``_config.yml`` points at the copy, so no
formula waits for a CDN. (It is not an ``html_static_path``: Jupyter Book would then add
every script in it to every page.) It also drops scripts that a page would load twice.
"""

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

VENDOR = Path("_vendor") / "static"


def check_vendor(app):
    if "html" not in app.builder.format:
        return
    if not (Path(app.srcdir) / VENDOR / "mathjax" / "tex-mml-chtml.js").exists():
        raise ExtensionError("MathJax is missing from _vendor/static: run "
                             "`python scripts/vendor_assets.py` (make install does)")


def copy_vendor(app, exception):
    if exception is not None or "html" not in app.builder.format:
        return
    shutil.copytree(Path(app.srcdir) / VENDOR, Path(app.outdir) / "_static",
                    dirs_exist_ok=True, ignore=shutil.ignore_patterns(".version"))


def drop_repeated_scripts(app, pagename, templatename, context, doctree):
    """Load each script once: sphinx-thebe adds its inline setup script a second time
    when the environment is read again, and the second ``const`` is a console error."""
    seen, scripts = set(), []
    for script in context.get("script_files", []):
        attributes = getattr(script, "attributes", {})
        # An inline script has filename None or "", as the extension added it.
        key = (getattr(script, "filename", str(script)) or None, attributes.get("body"))
        if key not in seen:
            seen.add(key)
            scripts.append(script)
    context["script_files"] = scripts


def setup(app):
    app.connect("builder-inited", check_vendor)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)  # after the rest
    app.connect("build-finished", copy_vendor)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
