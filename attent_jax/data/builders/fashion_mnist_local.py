"""Fashion-MNIST from local IDX files (Debian's dataset-fashion-mnist package, or any directory)."""

from __future__ import annotations

import pathlib

import numpy as np
import tensorflow_datasets as tfds

from attent_jax.data.builders import idx_format

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
               "Bag", "Ankle boot")
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_split(directory: str | pathlib.Path, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(images uint8[N, 28, 28], labels uint8[N]) of one split, validated for shape and range."""
  directory = pathlib.Path(directory)
  if not directory.is_dir():
    raise FileNotFoundError(f"Fashion-MNIST directory {directory} does not exist")
  image_file, label_file = (idx_format.find_idx_file(directory, s) for s in _FILES[split])
  images, labels = idx_format.read_idx(image_file), idx_format.read_idx(label_file)
  if images.ndim != 3 or images.shape[1:] != (28, 28):
    raise idx_format.IdxFormatError(f"{image_file}: expected images of shape [N, 28, 28], got {images.shape}")
  if labels.shape != images.shape[:1]:
    raise idx_format.IdxFormatError(
        f"{label_file}: {labels.shape[0] if labels.ndim else '?'} labels for {images.shape[0]} images")
  if labels.size and labels.max() >= len(CLASS_NAMES):
    raise idx_format.IdxFormatError(f"{label_file}: label {labels.max()} outside [0, 10)")
  return images, labels


class FashionMnistLocal(tfds.core.GeneratorBasedBuilder):
  """Fashion-MNIST (60k train, 10k test, 28x28 grey, 10 classes) built from local IDX files."""

  VERSION = tfds.core.Version("1.0.0")

  def __init__(self, *, source_dir: str = DEFAULT_DIR, **kwargs):
    # Checked here, not only when generating: a dataset built earlier from another directory may be
    # cached in data_dir, and reading it would silently ignore the directory asked for.
    if not pathlib.Path(source_dir).is_dir():
      raise FileNotFoundError(f"Fashion-MNIST directory {source_dir} does not exist (install Debian's "
                              "dataset-fashion-mnist, or set config.data.source_dir)")
    self._source_dir = source_dir
    super().__init__(**kwargs)

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(28, 28, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(names=CLASS_NAMES),
            "index": tfds.features.Scalar(dtype=np.int32),
        }),
        supervised_keys=("image", "label"),
        disable_shuffling=True,
    )

  def _split_generators(self, dl_manager):
    del dl_manager  # Offline: reads local files only.
    return {split: self._generate_examples(split) for split in _FILES}

  def _generate_examples(self, split):
    images, labels = read_split(self._source_dir, split)
    for i, (image, label) in enumerate(zip(images, labels)):
      yield i, {"image": image[..., None], "label": int(label), "index": i}
