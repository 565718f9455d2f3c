"""Linear probe: how well a frozen encoder's features separate the classes (the MAE's quality metric)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from attent_jax.data import Pool, model_features


def encode_pool(encode_fn: Callable, params, pool: Pool, count: int, batch_size: int) -> np.ndarray:
  """f32[count, D] features of the first `count` examples (fixed-size batches; one compile)."""
  encode = jax.jit(encode_fn)
  features = []
  for start in range(0, count, batch_size):
    rows = np.arange(start, start + batch_size) % pool.size
    features.append(np.asarray(encode(params, model_features(pool, rows))))
  return np.concatenate(features)[:count]


def linear_probe_accuracy(encode_fn: Callable, params, train_pool: Pool, eval_pool: Pool, *,
                          train_examples: int, eval_examples: int, batch_size: int = 256) -> float:
  """Accuracy on `eval_pool` of a logistic regression fit on encoder features of `train_pool`."""
  train_examples = min(train_examples, train_pool.size)
  eval_examples = min(eval_examples, eval_pool.size)
  x_train = encode_pool(encode_fn, params, train_pool, train_examples, batch_size)
  x_eval = encode_pool(encode_fn, params, eval_pool, eval_examples, batch_size)
  scaler = StandardScaler().fit(x_train)
  classifier = LogisticRegression(max_iter=500).fit(scaler.transform(x_train),
                                                    train_pool.arrays["label"][:train_examples])
  return float(classifier.score(scaler.transform(x_eval), eval_pool.arrays["label"][:eval_examples]))
