"""The built site as a reader meets it: every page of the table of contents is opened in headless
Chromium, served from localhost. Run after the book is built (``make test`` does this last).

For each page: it renders (Chromium's screenshot of it is not blank), its executed figures
are present as files, notebook pages carry a launch button to their own Colab URL, no
internal link is broken, and no traceback or stderr block appears. Screenshots go to
``_build/screenshots`` for the log.
"""

import functools
import http.server
import os
import re
import shutil
import socketserver
import subprocess
import tempfile
import threading
from html.parser import HTMLParser
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
import yaml
from book_files import CONFIG, ROOT, toc_files
from bs4 import BeautifulSoup
from PIL import Image

SITE = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
REPO = CONFIG["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


PAGES = list(dict.fromkeys(toc_files()))
# camlib.plot.PAGE_WIDTH at camlib.plot.DPI, plus the few pixels a tight bounding box may add.
MAX_FIGURE_PX = 720

if not CHROMIUM:
    # CI must run this test; elsewhere, say plainly what is missing.
    reason = "headless Chromium is not installed (Debian: apt-get install chromium)"
    if os.environ.get("CI"):
        raise RuntimeError(reason)
    pytest.skip(reason, allow_module_level=True)
if not (SITE / "index.html").exists():
    pytest.skip("the site is not built: run `make book` first", allow_module_level=True)


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.images = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *args: None
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
        httpd.shutdown()


def chromium(*args, timeout=60):
    with tempfile.TemporaryDirectory() as profile:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            *args,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_with_its_figures_links_and_launch_button(server, page):
    html_file = SITE / f"{page}.html"
    assert html_file.exists(), f"{page} was not built"
    url = f"{server}/{page}.html"

    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / (page.replace("/", "__") + ".png")
    shot.unlink(missing_ok=True)
    chromium("--window-size=1300,2400", "--virtual-time-budget=1500", f"--screenshot={shot}", url)
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    ink = (pixels < 128).mean()  # dark pixels: text, code and figures
    assert ink > 0.005, f"{page}: Chromium rendered an (almost) blank page"

    dom = html_file.read_text(encoding="utf-8")
    assert "<h1" in dom and "</article>" in dom, f"{page}: the page has no article"

    parser = Links()
    parser.feed(dom)
    for href in parser.hrefs:
        target = urlparse(href)
        if target.scheme or href.startswith(("#", "mailto:")):
            continue
        path = (html_file.parent / unquote(target.path)).resolve()
        assert path.exists(), f"{page}: broken internal link {href}"

    local_images = [src for src in parser.images if not urlparse(src).scheme]
    for src in local_images:
        assert (html_file.parent / unquote(src)).resolve().exists(), f"{page}: missing image {src}"

    if page.startswith("notebooks/"):
        figures = [src for src in local_images if "_images/" in src]
        assert figures, f"{page}: no executed figure on the page"
        repeated = {src for src in figures if figures.count(src) > 1}
        assert not repeated, f"{page}: figures shown twice: {sorted(repeated)}"
        for src in figures:
            if src.endswith(".png"):
                width = Image.open(html_file.parent / unquote(src)).width
                assert width <= MAX_FIGURE_PX, (
                    f"{page}: {src} is {width} px wide; the content column shows at most "
                    f"{MAX_FIGURE_PX} px, so it would be shrunk (draw it with camlib.plot.panels)"
                )
        outputs = "\n".join(
            block.get_text() for block in BeautifulSoup(dom, "html.parser").select(".cell_output")
        )
        for stray in ("<Axes:", "<matplotlib.", "array([", "<Figure size"):
            assert stray not in outputs, f"{page}: a raw {stray!r} repr is in a cell's output"
        colab = f"https://colab.research.google.com/github/{REPO}/blob/{BRANCH}/{page}.ipynb"
        assert colab in dom, f"{page}: no launch button to {colab}"
        assert "Traceback (most recent call last)" not in dom, f"{page} shows a traceback"
        assert not re.search(r'class="[^"]*\bstderr\b', dom), f"{page} shows a stderr block"


def test_the_site_index_is_a_page_with_a_title_and_a_link_to_the_book():
    index = (SITE / "index.html").read_text(encoding="utf-8")
    root = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
    assert "<title>" in index and CONFIG["title"] in index
    assert f'href="{root}.html"' in index and 'http-equiv="Refresh"' in index


@pytest.mark.parametrize("page", [p for p in PAGES if p.startswith("notebooks/")])
def test_captioned_figures_have_their_caption_as_alt_text(page):
    soup = BeautifulSoup((SITE / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
    for figure in soup.select("figure"):
        caption = figure.select_one("figcaption")
        for image in figure.select("img"):
            alt = image.get("alt", "")
            assert caption is None or (alt and not re.fullmatch(r"[0-9a-f]{32,}(\.png)?", alt)), (
                f"{page}: a captioned figure's image has no alt text ({image.get('src')})"
            )


@pytest.mark.parametrize(
    "page",
    [
        p
        for p in PAGES
        if re.match(r"notebooks/0[1-7][a-z]_", p) and not p.startswith("notebooks/07c")
    ],
)
def test_a_notebooks_section_number_is_the_one_its_file_name_and_the_prose_use(page):
    """notebooks/04a_… is section 4.1 of the numbered book, as the prose calls it."""
    chapter, letter = int(page[10:12]), page[12]
    soup = BeautifulSoup((SITE / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
    number = soup.select_one("h1 .section-number")
    assert number is not None, f"{page} has no section number"
    position = ord(letter) - ord("a") + 1
    if chapter == 7 and letter > "c":  # 07c is the CutMix appendix, outside chapter 7
        position -= 1
    expected = f"{chapter}.{position}."
    assert number.get_text().strip() == expected, (
        f"{page} is numbered {number.get_text().strip()} but the book calls it {expected}"
    )
