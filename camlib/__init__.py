"""camlib: the thin library behind *Class Activation Map Easier and Easier*.

One module per idea, imported on demand so that ``import camlib`` stays cheap and does
not pull in TensorFlow:

- :mod:`camlib.filters`: 2-D convolution, classic kernels, Sobel, hand-made shape features
- :mod:`camlib.data`: procedural datasets with exact boxes, packaged sample photos
- :mod:`camlib.architectures`: the small GAP CNN, VGGCAM and VGG16 for images, one signature
- :mod:`camlib.zoo`: the cached model zoo: configurations, datasets, training, the cache
- :mod:`camlib.models`: both of the above under one name, as the notebooks import them
- :mod:`camlib.graph`: Keras graph access and the runtime every map shares: finding and
  capturing layers, the class score before softmax, compiled batched passes, input checks
- :mod:`camlib.activations`: feature maps of any layer, filter weights (chapter 2)
- :mod:`camlib.ascent`: gradient ascent / activation maximisation (chapter 3)
- :mod:`camlib.cam`: CAM and its head finder (chapter 4); it also re-exports the names
  below, so that ``cam.grad_cam`` and ``cam.upsample`` work
- :mod:`camlib.methods`: Grad-CAM and the rest of the family, on two bases (chapter 7)
- :mod:`camlib.maps`: upsampling and scaling maps
- :mod:`camlib.localize`: boxes from a map, IoU, localization accuracy
- :mod:`camlib.wsol`: the WSOL protocol of Choe et al. (MaxBoxAcc, MaxBoxAccV2, PxAP), ported
  from the authors' code with their unit tests
- :mod:`camlib.metrics`: measures of a map: pointing game, energy in the box, deletion and
  insertion, sanity checks (chapters 4, 6 and 7)
- :mod:`camlib.counterfactual`: lane scenes redrawn with one element removed, added or moved
- :mod:`camlib.stats`: intervals across training seeds and across images
- :mod:`camlib.seeds`: one training recipe under several seeds, cached like the zoo
- :mod:`camlib.plot`: the book's figure standard, overlays, grids, colour bars, boxes
- :mod:`camlib.explore`: explorers that run in the browser, on the static site, in Jupyter
  and on Colab, from small arrays the notebook exports
- :mod:`camlib.widgets`: the same filter and activation explorers as ipywidgets (Jupyter, Colab)
- :mod:`camlib.notebook`: helpers every notebook shares (seeding, ``glue`` that works off-book)
"""

__version__ = "0.1.0"
