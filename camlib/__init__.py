"""camlib: the thin library behind *Class Activation Map Easier and Easier*.

One module per idea, imported on demand so that ``import camlib`` stays cheap and does
not pull in TensorFlow:

- :mod:`camlib.filters`: 2-D convolution, classic kernels, Sobel, hand-made shape features
- :mod:`camlib.data`: procedural datasets with exact boxes, packaged sample photos
- :mod:`camlib.models`: small GAP CNN, VGGCAM, the cached model zoo
- :mod:`camlib.activations`: feature maps of any layer, filter weights
- :mod:`camlib.ascent`: gradient ascent / activation maximisation
- :mod:`camlib.cam`: CAM, Grad-CAM and the rest of the family
- :mod:`camlib.localize`: boxes from a map, IoU, localization accuracy
- :mod:`camlib.counterfactual`: lane scenes redrawn with one element removed, added or moved
- :mod:`camlib.stats`: intervals across training seeds and across images
- :mod:`camlib.seeds`: one training recipe under several seeds, cached like the zoo
- :mod:`camlib.plot`: the book's figure standard, overlays, grids, colour bars, boxes
- :mod:`camlib.widgets`: ipywidgets explorers
- :mod:`camlib.notebook`: helpers every notebook shares (seeding, ``glue`` that works off-book)
"""

__version__ = "0.1.0"
