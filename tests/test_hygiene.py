"""The book's conventions.

Notebooks follow the template, carry no outputs and sit in the table of contents; every
badge and Colab setup cell agrees with the one repository URL in _config.yml; camlib's
modules and the notebooks use no private names of other modules.
"""

import ast
import json
import re
import sys

import pytest
import yaml
from book_files import CONFIG, ROOT, TOC, toc_files

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
BRANCH = CONFIG["repository"].get("branch", "main")
PROTECTED_PACKAGES = ("tensorflow", "keras", "ipywidgets")


def load(path):
    return json.loads(path.read_text())


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no notebook"


def test_every_toc_entry_exists_and_every_notebook_is_listed():
    listed = set(toc_files(TOC))
    for entry in listed:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".md", ".ipynb")), entry
    for notebook in NOTEBOOKS:
        assert notebook.relative_to(ROOT).with_suffix("").as_posix() in listed, (
            f"{notebook.name} not in _toc.yml"
        )


def test_config_has_the_required_settings():
    assert CONFIG["execute"]["execute_notebooks"] == "cache"
    assert CONFIG["execute"]["timeout"] > 0
    assert CONFIG["execute"]["stderr_output"] == "remove"
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPO_URL)
    assert {"dollarmath", "amsmath", "colon_fence"} <= set(
        CONFIG["parse"]["myst_enable_extensions"]
    )
    for path in CONFIG["bibtex_bibfiles"]:
        assert (ROOT / path).exists()


def test_jupyter_book_is_pinned_below_2():
    requirements = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^jupyter-book>=1[^\n]*,<2", requirements, re.M)


def test_camlib_install_never_pulls_in_the_colab_runtime_packages():
    pyproject = (ROOT / "pyproject.toml").read_text()
    dependencies = re.search(r"dependencies = \[(.*?)\]", pyproject, re.S).group(1)
    for package in PROTECTED_PACKAGES:
        assert package not in dependencies.lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, (
                f"{path.name} has outputs"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_title_badge_and_colab_setup(path):
    cells = load(path)["cells"]
    title, badge, setup = cells[0], cells[1], cells[2]
    assert title["cell_type"] == "markdown" and source(title).startswith("# ")

    owner_repo = REPO_URL.removeprefix("https://github.com/")
    expected = f"https://colab.research.google.com/github/{owner_repo}/blob/{BRANCH}/notebooks/{path.name}"
    assert badge["cell_type"] == "markdown" and f"]({expected})" in source(badge)
    # The badge image is the site's own file, so the page loads nothing from elsewhere.
    assert "(../_static/colab-badge.svg)" in source(badge), "use the local badge image"

    code = source(setup)
    assert setup["cell_type"] == "code"
    assert "TF_CPP_MIN_LOG_LEVEL" in code
    assert 'if "google.colab" in sys.modules:' in code
    assert f"git+{REPO_URL}" in code
    install_lines = [line for line in code.splitlines() if "pip" in line or "git+" in line]
    for package in PROTECTED_PACKAGES:
        assert all(package not in line.lower() for line in install_lines), (
            f"{path.name} installs {package}"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_template_sections(path):
    cells = load(path)["cells"]
    headings = [
        line
        for cell in cells
        if cell["cell_type"] == "markdown"
        for line in source(cell).splitlines()
        if line.startswith("## ")
    ]
    assert headings[0] == "## Learning goals", headings
    assert headings[-2:] == ["## Summary", "## Exercises"], headings
    after_exercises = cells[
        next(i for i, c in enumerate(cells) if source(c).startswith("## Exercises")) :
    ]
    solutions = [c for c in after_exercises if c["cell_type"] == "code"]
    assert solutions, f"{path.name} has exercises without solutions"
    assert all("hide-input" in c["metadata"].get("tags", []) for c in solutions)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_asserts_its_claims_and_downloads_nothing(path):
    cells = [source(c) for c in load(path)["cells"] if c["cell_type"] == "code"]
    code = "\n".join(cells)
    assert re.search(r"^\s*assert ", code, re.M), f"{path.name} checks none of its claims"
    for forbidden in ("keras.datasets", "urlopen", "requests.get", "get_file("):
        assert forbidden not in code, f"{path.name} uses {forbidden}"
    # ImageNet weights are for Colab readers only: behind a flag that the notebook leaves off.
    for cell in cells:
        if 'weights="imagenet"' in cell:
            assert "if USE_IMAGENET_VGG16:" in cell, (
                f"{path.name} downloads ImageNet weights unguarded"
            )
            assert re.search(r"^USE_IMAGENET_VGG16 = False", code, re.M), (
                f"{path.name} turns the flag on"
            )


def test_every_slide_of_the_deck_has_a_home_in_the_book():
    slides = yaml.safe_load((ROOT / "book" / "slides.yml").read_text(encoding="utf-8"))["slides"]
    listed = set(toc_files(TOC))
    assert len(slides) == 48  # the seed deck's slides, title to CutMix
    for number, slide in enumerate(slides, start=1):
        assert slide["covered_in"], f"slide {number} ({slide['title']}) has no page"
        for page in slide["covered_in"]:
            assert page in listed, f"slide {number} points at {page}, which is not in _toc.yml"


# What a Colab runtime has without installing anything, plus camlib, which the setup cell installs.
COLAB_MODULES = {
    "__future__",
    "collections",
    "dataclasses",
    "functools",
    "inspect",
    "itertools",
    "json",
    "math",
    "os",
    "pathlib",
    "random",
    "subprocess",
    "sys",
    "time",
    "typing",
    "warnings",
    "IPython",
    "PIL",
    "ipywidgets",
    "keras",
    "matplotlib",
    "numpy",
    "scipy",
    "skimage",
    "tensorflow",
    "camlib",
}


def imported_modules(code):
    lines = [line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))]
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module.split(".")[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_on_a_bare_colab_runtime(path):
    code = "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "code")
    missing = set(imported_modules(code)) - COLAB_MODULES - set(sys.stdlib_module_names)
    assert not missing, f"{path.name} imports {missing}, which Colab lacks and nothing installs"
    # On Colab there is no checkout of this repository: notebooks read no files from it.
    for reader in ("open(", ".read_text(", ".read_bytes(", "np.load(", "imread(", "../"):
        assert reader not in code, (
            f"{path.name} reads a file ({reader!r}); use camlib.data instead"
        )


# The figure standard (camlib.plot): figures fit the content column and their text is readable.
MAX_CODE_LINE = 79
# A literal size (not an expression such as data.character's glyph size, which draws pixels).
SMALL_FONT = re.compile(
    r"fontsize\s*=\s*(?:(\d+(?:\.\d+)?)\s*[,)\n]|[\"'](xx-small|x-small|small)[\"'])"
)
FIGSIZE = re.compile(r"figsize\s*=\s*\(\s*([\d.]+)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_fits_the_page(path):
    for number, cell in enumerate(load(path)["cells"]):
        if cell["cell_type"] != "code":
            continue
        for line in source(cell).splitlines():
            assert len(line) <= MAX_CODE_LINE, (
                f"{path.name}, cell {number}: a code line of {len(line)} characters is clipped "
                f"on the page (at most {MAX_CODE_LINE}): {line[:60]}…"
            )


def figure_code():
    for path in NOTEBOOKS:
        for number, cell in enumerate(load(path)["cells"]):
            if cell["cell_type"] == "code":
                yield f"{path.name}, cell {number}", source(cell)
    for module in sorted((ROOT / "camlib").glob("*.py")):
        yield module.name, module.read_text()


def test_no_figure_text_is_smaller_than_the_standard():
    from camlib.plot import MIN_FONT_SIZE

    for where, code in figure_code():
        for match in SMALL_FONT.finditer(code):
            size, named = match.groups()
            assert not named and float(size) >= MIN_FONT_SIZE, (
                f"{where}: {match.group(0)} is below the book's {MIN_FONT_SIZE} pt minimum"
            )


def test_no_figure_is_drawn_wider_than_the_page():
    from camlib.plot import PAGE_WIDTH

    for where, code in figure_code():
        for match in FIGSIZE.finditer(code):
            assert float(match.group(1)) <= PAGE_WIDTH, (
                f"{where}: {match.group(0)} is wider than the page ({PAGE_WIDTH} in); use "
                "camlib.plot.panels or more rows"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_figure_is_pasted_on_its_page(path):
    """A glued figure is shown only where a directive pastes it; unpasted, it would vanish."""
    cells = load(path)["cells"]
    code = "\n".join(source(c) for c in cells if c["cell_type"] == "code")
    markdown = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    for key in re.findall(r"glue\(\s*[\"'](fig_\w+|summary_figure)[\"']", code):
        assert re.search(rf"```\{{glue(?::figure)?\}}\s+{key}\s*$", markdown, re.M), (
            f"{path.name} glues the figure {key!r} but never pastes it with {{glue:figure}}"
        )


def test_chapter_pages_have_no_numbered_sections_of_their_own():
    """Sphinx numbers a chapter page's own sections before its notebooks: a `##` heading
    on book/04_cam_math.md would make notebook 04a section 4.2 instead of 4.1."""
    for entry in toc_files(TOC):
        page = ROOT / f"{entry}.md"
        if entry.startswith("book/0") and page.exists():
            headings = re.findall(r"^#{2,6} .*", page.read_text(encoding="utf-8"), re.M)
            assert not headings, f"{entry} has section headings {headings}; use {{rubric}}"


CAMLIB = sorted((ROOT / "camlib").glob("*.py"))


def _private_names_taken(path):
    """(module, name) for every underscore name imported from, or read off, a camlib module."""
    tree = ast.parse(path.read_text())
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("camlib"):
            for alias in node.names:
                if alias.name.startswith("_"):
                    yield node.module, alias.name
                elif node.module == "camlib":
                    aliases[alias.asname or alias.name] = alias.name
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("camlib."):
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            yield aliases[node.value.id], node.attr


@pytest.mark.parametrize("path", CAMLIB, ids=[p.name for p in CAMLIB])
def test_no_camlib_module_uses_another_modules_private_names(path):
    taken = sorted(set(_private_names_taken(path)))
    assert not taken, f"{path.name} uses private names of other modules: {taken}"


@pytest.mark.parametrize(
    "path",
    [p for p in CAMLIB if p.name != "__init__.py"],
    ids=[p.name for p in CAMLIB if p.name != "__init__.py"],
)
def test_every_camlib_module_is_listed_in_the_package_docstring(path):
    import camlib

    assert f":mod:`camlib.{path.stem}`" in camlib.__doc__, path.stem


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_notebook_calls_a_private_camlib_name(path):
    modules = (
        "activations|architectures|ascent|cam|counterfactual|data|filters|graph|"
        "explore|localize|maps|methods|metrics|models|notebook|plot|seeds|stats|widgets|wsol|zoo"
    )
    pattern = re.compile(rf"\b(?:{modules})\._[a-z]\w*")
    found = sorted(
        {
            hit
            for cell in load(path)["cells"]
            if cell["cell_type"] == "code"
            for hit in pattern.findall(source(cell))
        }
    )
    assert not found, f"{path.name} uses private camlib names: {found}"


def test_the_api_reference_documents_every_module_that_defines_names():
    api = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"automodule:: camlib\.(\w+)", api))
    # models only re-exports architectures and zoo, which are documented themselves.
    expected = {p.stem for p in CAMLIB} - {"__init__", "models"}
    assert documented == expected
