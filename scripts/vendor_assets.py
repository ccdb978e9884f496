"""Put the site's third-party browser files in _vendor/static, so no page needs a CDN.

The built site must work with no network: in a study room, on a train. Today that means
MathJax, which Sphinx would otherwise load from jsDelivr. This script downloads the
pinned MathJax release from the npm registry (a package registry, like PyPI), checks
its sha512 against the pin, and unpacks the parts the pages use into
``_vendor/static/mathjax``; ``_config.yml`` lists ``_vendor/static`` as a static path,
so the build copies it to ``_build/html/_static/mathjax``.

It does nothing when the pinned version is already unpacked. ``make install`` (and so
``make book`` and ``make test``) runs it.
"""

import base64
import hashlib
import io
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "_vendor" / "static"

# name, version, tarball URL, sha512 (the registry's "integrity"), and the files to keep.
MATHJAX = {
    "name": "mathjax",
    "version": "3.2.2",
    "url": "https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz",
    "integrity": "sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZG"
                 "JvtRZM1vO+geW0OhGw==",
    # The combined file that Sphinx loads by default, and the folders it loads on
    # demand: TeX extensions, fonts, the menu, accessibility and speech.
    "keep": ("es5/tex-mml-chtml.js", "es5/input/", "es5/output/", "es5/ui/", "es5/a11y/",
             "es5/adaptors/", "es5/sre/", "LICENSE"),
}


def _download(url, attempts=3):
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                return response.read()
        except OSError as error:
            if attempt == attempts:
                raise SystemExit(f"could not download {url}: {error}") from error
    raise AssertionError("unreachable")


def vendor(package):
    folder = TARGET / package["name"]
    stamp = folder / ".version"
    if stamp.exists() and stamp.read_text().strip() == package["version"]:
        return False
    archive = _download(package["url"])
    algorithm, expected = package["integrity"].split("-", 1)
    digest = base64.b64encode(hashlib.new(algorithm, archive).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{package['url']}: {algorithm} is {digest}, the pin says {expected}")
    shutil.rmtree(folder, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or not name.startswith(package["keep"]):
                continue
            if ".." in Path(name).parts:
                raise SystemExit(f"{package['url']}: refusing the path {member.name}")
            destination = folder / name.removeprefix("es5/")
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(tar.extractfile(member).read())
    stamp.write_text(package["version"] + "\n")
    return True


def main():
    changed = vendor(MATHJAX)
    size = sum(p.stat().st_size for p in (TARGET / "mathjax").rglob("*") if p.is_file())
    verb = "unpacked" if changed else "already present:"
    print(f"MathJax {MATHJAX['version']} {verb} {TARGET / 'mathjax'} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
