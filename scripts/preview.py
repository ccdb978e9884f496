"""Build a few pages of the book on their own and screenshot them as a reader sees them.

A full build executes every notebook. To check one chapter's figures and prose at the
reader's size, this script builds only the pages you name (with the landing page as the
root), in their own folder with their own execution cache, then opens each page in
headless Chromium at 1280 px wide and saves the screenshot in slices of 1280 × 1400 px.

Usage:
    python scripts/preview.py notebooks/05a_vggcam_in_keras3 book/05_vggcam [--out DIR]
        [--force]    re-execute the notebooks even if their code has not changed

The pages are built into DIR (default ``_build/preview/<first page's name>``); the
screenshots go to ``DIR/shots/<page>-<k>.png``. Links to pages outside the selection are
reported by Sphinx as missing; that is expected here.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SLICE = 1400
WIDTH = 1280


def chromium():
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        sys.exit("headless Chromium is needed: apt-get install chromium")
    return found


def build(pages, out, force):
    out.mkdir(parents=True, exist_ok=True)
    source = out / "src"
    source.mkdir(exist_ok=True)
    for name in ("book", "notebooks", "camlib"):
        link = source / name
        if not link.exists():
            link.symlink_to(ROOT / name)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["exclude_patterns"] = [*config.get("exclude_patterns", []), "src"]
    (source / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True))
    toc = {
        "format": "jb-book",
        "root": "book/intro",
        "chapters": [{"file": page} for page in pages if page != "book/intro"],
    }
    (source / "_toc.yml").write_text(yaml.safe_dump(toc))
    if force:
        shutil.rmtree(source / "_build" / ".jupyter_cache", ignore_errors=True)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    subprocess.run([str(jupyter_book), "build", str(source)], check=True)
    return source / "_build" / "html"


def screenshots(site, pages, shots):
    from PIL import Image

    shots.mkdir(parents=True, exist_ok=True)
    for page in pages:
        html = site / f"{page}.html"
        with tempfile.TemporaryDirectory() as profile:
            full = Path(profile) / "page.png"
            subprocess.run(
                [
                    chromium(),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    f"--user-data-dir={profile}",
                    f"--window-size={WIDTH},24000",
                    f"--screenshot={full}",
                    html.as_uri(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            image = Image.open(full).convert("RGB")
            rows = [
                y
                for y in range(image.height)
                if min(image.crop((0, y, WIDTH, y + 1)).getextrema()[0]) < 250
            ]
            bottom = (max(rows) + 20) if rows else image.height
            stem = page.replace("/", "_")
            for index, top in enumerate(range(0, bottom, SLICE)):
                piece = image.crop((0, top, WIDTH, min(top + SLICE, bottom)))
                piece.save(shots / f"{stem}-{index}.png")
                print(shots / f"{stem}-{index}.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "pages", nargs="+", help="pages as in _toc.yml, e.g. notebooks/05a_vggcam_in_keras3"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args()
    pages = [page.removesuffix(".ipynb").removesuffix(".md") for page in args.pages]
    for page in pages:
        if not any((ROOT / f"{page}{suffix}").exists() for suffix in (".md", ".ipynb")):
            sys.exit(f"no page {page}.md or {page}.ipynb in the book")
    out = args.out or ROOT / "_build" / "preview" / Path(pages[0]).name
    site = build(pages, out.resolve(), args.force)
    screenshots(site, pages, out / "shots")


if __name__ == "__main__":
    main()
