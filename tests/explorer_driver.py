"""Headless Chromium through Playwright, with every request outside localhost blocked.

Both browser test modules use it: ``test_explorers.py`` on explorers built from test data,
``test_site.py`` on the built site. :func:`expected_*` turn an explorer's exported data
back into arrays, so a test can compute with camlib what the browser should show.
"""

import base64
import contextlib
import io
import json
import os
import shutil
from urllib.parse import urlparse

import numpy as np
from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def is_local(url):
    parts = urlparse(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS


@contextlib.contextmanager
def offline_browser():
    """A Chromium that can reach only localhost (and data: URIs)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


class Visit:
    """One page opened offline: what it asked for outside localhost, and its errors."""

    def __init__(self, browser, url, *, width=1280, height=1000):
        self.blocked, self.failed, self.errors = [], [], []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfailed", lambda request: self.failed.append(request.url))
        self.bytes = 0  # what the page loaded from the server, by Content-Length
        self.page.on("response", self._count)
        self.page.goto(url, wait_until="load")

    def _route(self, route):
        if is_local(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _count(self, response):
        self.bytes += int(response.headers.get("content-length", 0) or 0)

    def _console(self, message):
        if message.type == "error":
            self.errors.append(message.text)

    def close(self):
        self.page.close()


def wait_for_explorers(page, timeout=20_000):
    page.wait_for_function(
        "[...document.querySelectorAll('.cam-explore')].every(e => e.dataset.ready)",
        timeout=timeout)
    states = page.eval_on_selector_all(".cam-explore", "els => els.map(e => e.dataset.ready)")
    assert all(state == "1" for state in states), f"an explorer failed to start: {states}"


def explorer_data(page, index=0):
    """The JSON data that explorer ``index`` of the page embeds."""
    text = page.eval_on_selector_all(
        ".cam-explore script.cam-explore-data", f"els => els[{index}].textContent")
    return json.loads(text)


def state(page, index=0, keys=None):
    """The explorer's state (``root.camState``), typed arrays as lists."""
    return page.evaluate(
        """([index, keys]) => {
          const s = document.querySelectorAll('.cam-explore')[index].camState;
          const out = {};
          for (const [k, v] of Object.entries(s)) {
            if (keys && !keys.includes(k)) continue;
            out[k] = ArrayBuffer.isView(v) ? Array.from(v) : v;
          }
          return out;
        }""", [index, keys])


def control(page, index, role):
    return page.locator(".cam-explore").nth(index).locator(f'[data-role="{role}"]')


def updates(page, index=0):
    body = page.locator(".cam-explore").nth(index).locator(".cam-explore-body")
    return int(body.get_attribute("data-updates") or 0)


def decode_png(uri):
    """A PNG data URI as a uint8 array (H, W) for grey, (H, W, 3) for colour."""
    raw = base64.b64decode(uri.split(",", 1)[1])
    image = Image.open(io.BytesIO(raw))
    return np.asarray(image.convert("L") if image.mode in ("L", "P") else image.convert("RGB"))


def unit(uri):
    """A grey PNG as the values q / 255 that the browser reads."""
    return decode_png(uri).astype(np.float64) / 255


def tiles(uri, tile_width):
    """A PNG of tiles side by side as (T, H, tile_width) values q / 255."""
    values = unit(uri)
    return np.stack(np.split(values, values.shape[1] // tile_width, axis=1))


def screenshot_of(page, index, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    page.locator(".cam-explore").nth(index).screenshot(path=str(path))
