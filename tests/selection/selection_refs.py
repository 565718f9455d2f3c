"""Numpy references shared by the selection tests."""

import numpy as np


def np_hard_order(scores) -> np.ndarray:
  """Reference ranking: descending, NaN and -inf last, ties (and -0.0 vs 0.0) to the lower index."""
  keys = np.where(np.isnan(scores), -np.inf, np.asarray(scores, np.float64))
  keys = np.where(keys == 0, 0.0, keys)
  return np.argsort(-keys, kind="stable")
