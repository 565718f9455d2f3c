"""scikit-learn's 8x8 digits (1797 images, shipped inside the package): instant, for tests and smoke runs."""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

TEST_EVERY = 5  # Every 5th image (by position) is in the test split: 1437 train, 360 test.


class SklearnDigits(tfds.core.GeneratorBasedBuilder):
  """Digits 0-9 as uint8[8, 8, 1] images with values in [0, 16]."""

  VERSION = tfds.core.Version("1.0.0")

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        features=tfds.features.FeaturesDict({
            "image": tfds.features.Tensor(shape=(8, 8, 1), dtype=np.uint8),
            "label": tfds.features.ClassLabel(num_classes=10),
            "index": tfds.features.Scalar(dtype=np.int32),
        }),
        supervised_keys=("image", "label"),
        disable_shuffling=True,
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    return {"train": self._generate_examples(False), "test": self._generate_examples(True)}

  def _generate_examples(self, is_test: bool):
    from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
    digits = load_digits()
    position = np.arange(len(digits.target))
    keep = (position % TEST_EVERY == 0) == is_test
    images = digits.images[keep].astype(np.uint8)
    for i, (image, label) in enumerate(zip(images, digits.target[keep])):
      yield i, {"image": image[..., None], "label": int(label), "index": i}
