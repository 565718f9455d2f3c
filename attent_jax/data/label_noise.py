"""Label noise for image pools: a fixed, seeded fraction of the training labels flipped to another class.

`config.data.label_noise` (fraction, 0 = off) and `config.data.label_noise_seed` select it;
`experiment.build` applies it to the training pool only (the eval split stays clean). Exactly
round(fraction * size) examples are flipped (half up), chosen by a permutation seeded by the seed
alone, each to a class drawn uniformly from the other num_classes - 1. The pool keeps the truth:
arrays["clean_label"] (the original labels) and arrays["label_flipped"] (bool), which the model never
sees (`data.model_features` reads only "image" and "label"), so diagnostics can tell whether a teacher
picks the flipped examples; the training loop also writes their indices to workdir/flipped_labels.json.
Host-side numpy, pure.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from attent_jax.data.sources import Pool


def flip_labels(labels: np.ndarray, num_classes: int, fraction: float, seed: int):
  """(noisy int[N], flipped bool[N]): `labels` int[N] with round(fraction * N) of them changed, each to a
  different class in [0, num_classes). Raises ValueError for a fraction outside [0, 1), fewer than two
  classes, or labels outside [0, num_classes)."""
  labels = np.asarray(labels)
  if not 0.0 <= fraction < 1.0:
    raise ValueError(f"config.data.label_noise must be in [0, 1), got {fraction!r}")
  if num_classes < 2:
    raise ValueError(f"label noise needs at least 2 classes, got {num_classes}")
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(f"labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]")
  n = len(labels)
  count = int(np.floor(fraction * n + 0.5))
  rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1ABE1]))
  chosen = rng.permutation(n)[:count]
  shift = rng.integers(1, num_classes, size=count)  # Never 0: the new class always differs.
  noisy = labels.copy()
  noisy[chosen] = (labels[chosen] + shift) % num_classes
  flipped = np.zeros(n, bool)
  flipped[chosen] = True
  return noisy.astype(labels.dtype), flipped


def with_label_noise(pool: Pool, num_classes: int, fraction: float, seed: int) -> Pool:
  """`pool` with its labels flipped by `flip_labels`, the truth kept in "clean_label"/"label_flipped".
  Raises ValueError for a pool without labels (token pools)."""
  if "label" not in pool.arrays:
    raise ValueError(f"config.data.label_noise needs a labelled image pool; {pool.name} has none")
  noisy, flipped = flip_labels(pool.arrays["label"], num_classes, fraction, seed)
  arrays = {**pool.arrays, "label": noisy, "clean_label": pool.arrays["label"], "label_flipped": flipped}
  return dataclasses.replace(pool, arrays=arrays)
