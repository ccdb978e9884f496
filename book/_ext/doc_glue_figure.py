"""A ``{doc-glue-figure}`` directive: a figure glued in another notebook, with a caption.

myst-nb's ``{glue:figure}`` pastes only from the page's own notebook, and ``{glue}`` with
``:doc:`` pastes from another one but without a caption. This directive does both: it
pastes ``key`` from the notebook named by ``:doc:`` inside a figure, with the directive's
content as the caption (which also becomes the image's alt text)::

    ```{doc-glue-figure} summary_figure
    :doc: ../notebooks/06b_debugging_a_shortcut.ipynb
    :name: fig-intro-shortcut

    The caption.
    ```
"""

from docutils import nodes
from docutils.parsers.rst import Directive, directives


class DocGlueFigure(Directive):
    required_arguments = 1
    has_content = True
    option_spec = {"doc": directives.unchanged_required, "name": directives.unchanged}

    def run(self):
        from myst_nb.ext.glue.utils import (
            PendingGlueReferenceError,
            create_pending_glue_ref,
            glue_warning,
        )

        document = self.state.document
        try:
            pasted = create_pending_glue_ref(document, self.state.document.current_source,
                                             self.lineno, self.options["doc"],
                                             self.arguments[0])
        except PendingGlueReferenceError as exc:
            return [glue_warning(str(exc), document, self.lineno)]
        figure = nodes.figure("", pasted)
        self.add_name(figure)
        if self.content:
            parsed = nodes.Element()
            self.state.nested_parse(self.content, self.content_offset, parsed)
            first = parsed[0]
            if isinstance(first, nodes.paragraph):
                figure += nodes.caption(first.rawsource, "", *first.children)
                if len(parsed) > 1:
                    figure += nodes.legend("", *parsed[1:])
        return [figure]


def register(app):
    app.add_directive("doc-glue-figure", DocGlueFigure)
