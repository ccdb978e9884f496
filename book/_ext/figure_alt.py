"""Give every figure's image an alt text: its caption.

Images that notebooks output have no alt text of their own, so the HTML falls back to
the file name, a hash. Inside a captioned figure, the caption says what the image shows,
so it becomes the alt text (for screen readers and for a page whose images do not load).
"""

from docutils import nodes


def caption_as_alt(app, doctree, docname):
    for figure in doctree.findall(nodes.figure):
        captions = list(figure.findall(nodes.caption))
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            if not image.get("alt"):
                image["alt"] = text


def setup(app):
    app.connect("doctree-resolved", caption_as_alt)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
