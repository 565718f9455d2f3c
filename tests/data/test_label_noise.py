"""config.data.label_noise: a fixed, seeded fraction of the training labels flipped; test labels clean."""

import json

import numpy as np
import pytest

from attent_jax import experiment
from attent_jax.configs import vit_fashion_mnist_noisy
from attent_jax.data import label_noise
from tests.offline_data import smoke_config


def test_flip_labels_is_exact_seeded_and_always_changes_the_class():
  labels = np.arange(1000) % 10
  noisy, flipped = label_noise.flip_labels(labels, 10, 0.2, seed=3)
  assert flipped.sum() == 200
  np.testing.assert_array_equal(noisy != labels, flipped)  # Every flipped label differs; no other changes.
  assert noisy.min() >= 0 and noisy.max() < 10
  again, flipped_again = label_noise.flip_labels(labels, 10, 0.2, seed=3)
  np.testing.assert_array_equal(again, noisy)
  np.testing.assert_array_equal(flipped_again, flipped)
  _, other = label_noise.flip_labels(labels, 10, 0.2, seed=4)
  assert (other != flipped).any()
  assert len(set(noisy[flipped] - labels[flipped]) - {0}) > 5  # Spread over the other classes.
  with pytest.raises(ValueError, match="label_noise"):
    label_noise.flip_labels(labels, 10, 1.0, seed=0)


def test_noisy_config_flips_twenty_percent_of_train_and_keeps_test_clean(data_dirs, tmp_path):
  clean = experiment.build(smoke_config(vit_fashion_mnist_noisy.vit_fashion_mnist, data_dirs))
  config = smoke_config(vit_fashion_mnist_noisy, data_dirs)
  exp = experiment.build(config)
  arrays = exp.train_pool.arrays
  assert arrays["label_flipped"].sum() == round(0.2 * exp.train_pool.size)
  np.testing.assert_array_equal(arrays["clean_label"], clean.train_pool.arrays["label"])
  np.testing.assert_array_equal(arrays["label"] != arrays["clean_label"], arrays["label_flipped"])
  np.testing.assert_array_equal(exp.eval_pool.arrays["label"], clean.eval_pool.arrays["label"])
  assert "label_flipped" not in exp.eval_pool.arrays
  assert exp.fingerprint != clean.fingerprint  # A noisy run never resumes a clean one's checkpoint.
  config.data.label_noise = 1.5
  with pytest.raises(ValueError, match="label_noise"):
    experiment.build(config)


def test_noisy_smoke_config_trains_and_records_the_flipped_examples(data_dirs, tmp_path):
  from attent_jax import train  # pylint: disable=g-import-not-at-top
  config = smoke_config(vit_fashion_mnist_noisy, data_dirs, epochs=2)
  result = train.run(config, tmp_path, progress=False)
  assert np.isfinite(result.final["eval/accuracy"])
  flipped = json.loads((tmp_path / "flipped_labels.json").read_text())["indices"]
  assert len(flipped) == round(0.2 * 512) and flipped == sorted(set(flipped))
