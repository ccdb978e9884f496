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


@pytest.fixture(scope="module")
def offline():
    from explorer_driver import offline_browser

    with offline_browser() as browser:
        yield browser


WEIGHTS = {}  # page -> bytes it loaded, written to _build/screenshots/page_weights.json


@pytest.fixture(scope="module", autouse=True)
def page_weights():
    yield
    if WEIGHTS:
        import json

        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / "page_weights.json").write_text(json.dumps(WEIGHTS, indent=1) + "\n")


# Raw TeX that MathJax did not typeset: \( … \), \[ … \] or $$ … $$ left in the text.
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$")


@pytest.mark.parametrize("page", PAGES)
def test_page_works_with_the_network_blocked(server, offline, page):
    """Every request outside localhost is blocked: the page must not need one."""
    from explorer_driver import Visit, wait_for_explorers

    visit = Visit(offline, f"{server}/{page}.html")
    try:
        tab = visit.page
        has_math = tab.locator(".math").count() > 0
        if has_math:
            tab.wait_for_function(
                "window.MathJax && MathJax.startup && MathJax.startup.promise"
                " && document.querySelectorAll('mjx-container').length > 0",
                timeout=30_000)
            tab.evaluate("MathJax.startup.promise")
        article = tab.locator("article").inner_text()
        assert not RAW_TEX.search(article), f"{page}: raw TeX left on the page"
        if has_math:
            assert tab.locator(".math mjx-container, mjx-container").count() >= tab.locator(
                ".math").count(), f"{page}: some formulas were not typeset"
        broken = tab.evaluate(
            "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src)")
        assert not broken, f"{page}: images that did not load: {broken}"
        if tab.locator(".cam-explore").count():
            wait_for_explorers(tab)
        tab.wait_for_load_state("networkidle")
        WEIGHTS[page] = visit.bytes
        assert not visit.blocked, f"{page} asks the network for {visit.blocked}"
        assert not visit.failed, f"{page}: requests that failed: {visit.failed}"
        assert not visit.errors, f"{page}: console errors: {visit.errors}"
    finally:
        visit.close()


def test_korean_text_renders_with_a_korean_font(server, offline):
    """The glossary's Korean terms are drawn with a font that has Hangul, not as boxes."""
    from explorer_driver import Visit

    visit = Visit(offline, f"{server}/book/glossary.html")
    try:
        tab = visit.page
        assert "용어집" in tab.locator("article").inner_text()
        # Mark the innermost element that holds the word, then ask Chromium which
        # platform fonts drew its glyphs.
        tab.evaluate("""() => {
          const walker = document.createTreeWalker(document.querySelector('article'),
                                                   NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            if (walker.currentNode.textContent.includes('용어집')) {
              walker.currentNode.parentElement.id = 'korean-word'; return;
            }
          }
        }""")
        session = tab.context.new_cdp_session(tab)
        session.send("DOM.enable")
        session.send("CSS.enable")
        root = session.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        node = session.send("DOM.querySelector", {"nodeId": root,
                                                  "selector": "#korean-word"})["nodeId"]
        assert node, "no element holds the Korean word"
        fonts = session.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        names = [font["familyName"] for font in fonts]
        stack = tab.evaluate("getComputedStyle(document.body).fontFamily")
        assert "Noto Sans CJK KR" in stack and "Malgun Gothic" in stack, stack
        assert any(("CJK" in n or "KR" in n or "Gothic" in n) for n in names), (
            f"the Korean word is drawn with {names}; install a Korean font "
            "(Debian: fonts-noto-cjk)")
    finally:
        visit.close()


EXPLORER_PAGES = [p for p in PAGES if (SITE / f"{p}.html").exists()
                  and 'class="cam-explore"' in (SITE / f"{p}.html").read_text(encoding="utf-8")]


def test_the_five_explorers_are_on_the_site():
    kinds = set()
    for page in EXPLORER_PAGES:
        kinds.update(re.findall(r'class="cam-explore"[^>]*data-kind="(\w+)"',
                                (SITE / f"{page}.html").read_text(encoding="utf-8")))
    assert kinds == {"filters", "activations", "cam_sum", "map_to_box", "methods"}, kinds


@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_explorer_data_keeps_the_page_light(page):
    soup = BeautifulSoup((SITE / f"{page}.html").read_text(encoding="utf-8"), "html.parser")
    sizes = [len(block.get_text().encode("utf-8"))
             for block in soup.select(".cam-explore script.cam-explore-data")]
    assert sizes and sum(sizes) < 300_000, f"{page}: explorer data {sizes} bytes"


def _drive(tab, kind, data):
    """Move one control of an explorer and check what it draws against camlib."""
    from explorer_driver import control, state, tiles, unit, updates

    from camlib import filters, localize

    before = updates(tab)
    if kind == "filters":
        control(tab, 0, "kernel").select_option("1")
        image = unit(data["images"][0]["png"])
        kernel = np.reshape(data["kernels"][1]["values"], (3, 3))
        shown = np.reshape(state(tab)["response"], image.shape)
        assert np.abs(shown - filters.correlate2d(image, kernel)).max() < 1e-5
        control(tab, 0, "k4").fill("3")
        assert np.reshape(state(tab)["kernel"], (3, 3))[1, 1] == 3
    elif kind == "activations":
        control(tab, 0, "layer").select_option(str(len(data["layers"]) - 1))
        layer = data["layers"][-1]
        canvas = tab.locator(".cam-explore canvas").nth(1)
        box = canvas.bounding_box()
        tab.mouse.move(box["x"] + box["width"] * 0.99, box["y"] + box["height"] * 0.99)
        h, w = layer["shape"]
        field = state(tab)["field"]
        centre = (w - 0.5) * layer["stride"] - 0.5
        assert field[2] == min(data["size"][1], round(centre + layer["field"] / 2 + 0.5))
        assert state(tab)["hover"] == [h - 1, w - 1]
    elif kind == "cam_sum":
        first = state(tab)
        k = first["shown"][0]
        handle = control(tab, 0, f"weight-{k}")
        old = float(handle.input_value())
        handle.fill(str(old + 0.5))
        moved = float(handle.input_value()) - old  # the slider stops at its end
        assert moved > 0
        after = state(tab)
        h, w = data["map_shape"]
        per_image = data["per_image"][0]
        f_k = tiles(per_image["maps"], w)[k] * per_image["top"][k]
        change = np.reshape(after["map"], (h, w)) - np.reshape(first["map"], (h, w))
        assert np.abs(change - moved * f_k).max() < 1e-9
        assert after["score"] - first["score"] == pytest.approx(moved * f_k.mean(), abs=1e-9)
        assert abs(first["score"] - first["logit"]) < 0.05 * max(1, abs(first["logit"]))
    elif kind == "map_to_box":
        control(tab, 0, "threshold").fill("0.35")
        shown = state(tab)
        name = list(data["maps"])[0]
        box = localize.box_from_map(unit(data["maps"][name][0]), 0.35)
        assert tuple(shown["box"]) == box
        assert shown["iou"] == pytest.approx(localize.iou(box, tuple(data["boxes"][0])))
    elif kind == "methods":
        control(tab, 0, "image").select_option("3")
        hits = state(tab)["hits"]
        assert hits == {name: m["hits"][3] for name, m in data["methods"].items()}
    assert updates(tab) > before, f"the {kind} explorer did not redraw"


@pytest.mark.parametrize("page", EXPLORER_PAGES)
def test_explorers_on_the_site_respond_to_their_controls(server, offline, page):
    from explorer_driver import Visit, explorer_data, screenshot_of, wait_for_explorers

    visit = Visit(offline, f"{server}/{page}.html")
    try:
        tab = visit.page
        wait_for_explorers(tab)
        data = explorer_data(tab)
        tab.locator(".cam-explore").first.scroll_into_view_if_needed()
        _drive(tab, data["kind"], data)
        screenshot_of(tab, 0, SHOTS / "explorers" / (page.replace("/", "__") + ".png"))
        assert not visit.errors and not visit.blocked, (visit.errors, visit.blocked)
    finally:
        visit.close()
