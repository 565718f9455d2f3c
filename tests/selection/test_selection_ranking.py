"""select / rank / scores against numpy references: ties, NaN and -inf, soft-selection probabilities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from selection_refs import np_hard_order
from hypothesis import given, settings
from hypothesis import strategies as st

from attent_jax import losses, selection

SIZES = (1, 5, 33)  # few shapes: compiles are reused across hypothesis examples
SPECIALS = (np.nan, -np.inf, np.inf, -0.0)


@st.composite
def score_vectors(draw):
  n = draw(st.sampled_from(SIZES))
  values = draw(st.lists(st.sampled_from((0.0, 1.0, 2.0, -1.5, 3.25) + SPECIALS), min_size=n,
                         max_size=n))
  k = draw(st.sampled_from(sorted({0, 1, n // 2, n})))
  return np.array(values, np.float32), k


@settings(max_examples=25, deadline=None)
@given(score_vectors())
def test_hard_select_and_rank_match_numpy(case):
  scores, k = case
  expected = np_hard_order(scores)
  np.testing.assert_array_equal(selection.rank(scores), expected)
  np.testing.assert_array_equal(selection.select(scores, k), expected[:k])


@pytest.mark.parametrize("method,normalize", [("soft", "softmax"), ("soft", "sigmoid"),
                                              ("random", "softmax")])
@settings(max_examples=6, deadline=None)
@given(values=st.lists(st.sampled_from((0.0, 1.0, 2.0, -1.5) + SPECIALS), min_size=33, max_size=33),
       seed=st.integers(0, 2**31 - 1))
def test_stochastic_select_is_a_prefix_of_rank_and_never_prefers_invalid(
    method, normalize, values, seed):
  scores, k = np.array(values, np.float32), 16
  key = jax.random.key(seed)
  chosen = np.asarray(selection.select(scores, k, method=method, key=key, normalize=normalize))
  order = np.asarray(selection.rank(scores, method, key=key, normalize=normalize))
  np.testing.assert_array_equal(chosen, order[:k])
  assert sorted(order) == list(range(len(scores)))  # a permutation: k distinct indices
  invalid = np.isnan(scores) | (scores == -np.inf)
  ranks_of_invalid = np.flatnonzero(invalid[order])
  assert np.all(ranks_of_invalid >= (~invalid).sum())  # every valid score ranks ahead
  if method == "soft" and normalize == "softmax":  # +inf takes all the softmax mass: first
    assert np.all(np.isinf(scores[order[: (scores == np.inf).sum()]]))


def test_ties_break_to_lower_index():
  scores = np.array([1.0, 3.0, 3.0, 0.0, 3.0, -0.0, 0.0], np.float32)
  np.testing.assert_array_equal(selection.select(scores, 7), [1, 2, 4, 0, 3, 5, 6])


def test_nan_and_neg_inf_never_beat_finite():
  scores = np.array([np.nan, -np.inf, -1e30, np.nan, -3.0], np.float32)
  np.testing.assert_array_equal(selection.select(scores, 3), [4, 2, 0])


def _first_pick_frequencies(scores, method, normalize="softmax", temperature=1.0, draws=4000):
  keys = jax.random.split(jax.random.key(7), draws)
  pick = jax.jit(jax.vmap(lambda key: selection.select(
      scores, 1, method=method, key=key, normalize=normalize, temperature=temperature)[0]))
  return np.bincount(np.asarray(pick(keys)), minlength=len(scores)) / draws


@pytest.mark.parametrize("normalize,temperature", [("softmax", 1.0), ("sigmoid", 1.0),
                                                   ("softmax", 2.0)])
def test_soft_first_pick_follows_normalised_scores(normalize, temperature):
  scores = jnp.array([2.0, 1.0, 0.0, -1.0, 0.5, np.nan], jnp.float32)
  finite = np.asarray(scores[:5], np.float64)
  weights = np.exp(finite / temperature) if normalize == "softmax" else (
      1 / (1 + np.exp(-finite))) ** (1 / temperature)
  expected = np.append(weights / weights.sum(), 0.0)
  observed = _first_pick_frequencies(scores, "soft", normalize, temperature)
  tolerance = 4.5 * np.sqrt(expected * (1 - expected) / 4000) + 1e-9
  assert np.all(np.abs(observed - expected) <= tolerance), (observed, expected)


def test_random_first_pick_is_uniform_over_valid():
  scores = jnp.array([5.0, -2.0, np.nan, 0.0], jnp.float32)
  observed = _first_pick_frequencies(scores, "random")
  expected = np.array([1 / 3, 1 / 3, 0.0, 1 / 3])
  assert np.all(np.abs(observed - expected) <= 4.5 * np.sqrt(2 / 9 / 4000)), observed


def test_select_works_under_jit():
  scores = jnp.arange(10.0)
  pick = jax.jit(lambda s, key: selection.select(s, 3, method="soft", key=key, temperature=0.01))
  np.testing.assert_array_equal(pick(scores, jax.random.key(0)), [9, 8, 7])


@pytest.mark.parametrize("kwargs,match", [
    (dict(k=11), "k must be"), (dict(k=-1), "k must be"), (dict(k=2, method="top"), "method"),
    (dict(k=2, method="soft"), "PRNG key"), (dict(k=2, normalize="l1", key=0), "normalize"),
    (dict(k=2, temperature=0.0), "temperature"), (dict(k=2, impl="allreduce"), "impl"),
])
def test_select_rejects_bad_arguments(kwargs, match):
  if kwargs.get("key") == 0:
    kwargs["key"] = jax.random.key(0)
  with pytest.raises(ValueError, match=match):
    selection.select(jnp.zeros(10), **kwargs)


def test_scores_are_the_losses_module():
  logits = jax.random.normal(jax.random.key(0), (3, 4, 5))
  labels = jnp.array([[0, 1, 2, 3], [4, 4, 0, 1], [2, 2, 2, 2]])
  mask = jnp.array([[1, 1, 0, 0], [1, 1, 1, 1], [0, 0, 0, 0]], bool)
  both = jax.jit(lambda *a: (selection.per_example_loss(*a), losses.cross_entropy(*a)[0],
                             selection.discrepancy(*a), losses.residual_norm(*a)))
  loss, loss_ref, residual, residual_ref = both(logits, labels, mask)
  np.testing.assert_array_equal(loss, loss_ref)
  np.testing.assert_array_equal(residual, residual_ref)
  assert loss[2] == 0.0 and loss[0] > 0.0
