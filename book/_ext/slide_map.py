"""A ``{slide-map}`` directive: the table of every slide of the study-group deck and the page
that covers it, built from ``book/slides.yml`` so that a test can check every slide has a home."""

from pathlib import Path

import yaml
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList

SLIDES_FILE = Path(__file__).resolve().parents[1] / "slides.yml"


def load_slides(path=SLIDES_FILE):
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["slides"]


class SlideMap(Directive):
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        env.note_dependency(str(SLIDES_FILE))
        lines = ["| # | slide | covered in |", "|---|---|---|"]
        for number, slide in enumerate(load_slides(), start=1):
            homes = ", ".join(f"{{doc}}`/{home}`" for home in slide["covered_in"])
            lines.append(f"| {number} | {slide['title']} | {homes} |")
        container = StringList(lines, source=str(SLIDES_FILE))
        node_list = []
        from docutils import nodes

        wrapper = nodes.container(classes=["slide-map"])
        self.state.nested_parse(container, self.content_offset, wrapper)
        node_list.append(wrapper)
        return node_list


def _sibling(name):
    """Import ``name``.py from this folder (a local extension's folder is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def setup(app):
    app.add_directive("slide-map", SlideMap)
    # The bibliography's author-year labels (book/bibliography.md: ``:style: authoryear``).
    _sibling("author_year_style").register()
    # A captioned figure glued from another notebook (book/intro.md).
    _sibling("doc_glue_figure").register(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
