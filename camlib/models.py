"""Models with a CAM-ready head, and the zoo of small ones (chapters 4 to 7): one import.

``from camlib import models`` gives the names of two modules, so that notebooks need one:

- from :mod:`camlib.architectures`, the networks: :func:`gap_cnn`, :func:`box_cnn`,
  :func:`vggcam`,
  :func:`vgg16_for_images`, :data:`ARCHITECTURES` and :data:`VGG16_MEAN_BGR`;
- from :mod:`camlib.zoo`, the trained models and their data: :data:`ZOO`,
  :data:`DEFAULTS`, :data:`DATASETS`, :data:`TASKS`, :data:`LABELS`, :data:`CLASSES`,
  :data:`BUILDERS`, :data:`SPLITS`,
  :func:`config`, :func:`split_seed`, :func:`dataset`, :func:`build`, :func:`cutmix`,
  :func:`train`, :func:`get`, :func:`cache_dir`, :func:`cache_key`,
  :data:`TRAINING_CODE` and :data:`STALE_SECONDS`.

Example:
    >>> models.get("shapes-gap")  # doctest: +SKIP
    >>> vggcam((64, 64, 3), 4, width=0.125).get_layer("conv_cam").output.shape
    (None, 4, 4, 128)
"""

from camlib.architectures import (
    ARCHITECTURES,
    VGG16_MEAN_BGR,
    box_cnn,
    gap_cnn,
    vgg16_for_images,
    vggcam,
)
from camlib.zoo import (
    BUILDERS,
    CLASSES,
    DATASETS,
    DEFAULTS,
    LABELS,
    MODEL_LOG,
    SPLITS,
    STALE_SECONDS,
    TASKS,
    TRAINING_CODE,
    ZOO,
    build,
    cache_dir,
    cache_key,
    config,
    cutmix,
    dataset,
    get,
    is_cached,
    split_seed,
    train,
)

__all__ = [
    "ARCHITECTURES", "VGG16_MEAN_BGR", "gap_cnn", "box_cnn", "vggcam", "vgg16_for_images",
    "ZOO", "DEFAULTS", "DATASETS", "CLASSES", "BUILDERS", "SPLITS", "TASKS", "LABELS",
    "TRAINING_CODE", "STALE_SECONDS", "config", "split_seed", "dataset", "build", "cutmix",
    "train", "get",
    "cache_dir", "cache_key", "is_cached", "MODEL_LOG",
]
