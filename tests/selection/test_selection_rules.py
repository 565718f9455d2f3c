"""The granularity rules (attent_jax.selection.rules) against numpy references."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from selection_refs import np_hard_order

from attent_jax.selection import rules, teacher

N, GROUP = 30, 8  # 4 groups, the last of 6


@functools.cache
def _jitted(name, **static):
  return jax.jit(functools.partial(getattr(rules, name), **static))


def _np_within_groups(keys, perm, group, keep, keep_last):
  kept = np.zeros(len(keys), bool)
  starts = list(range(0, len(keys), group))
  for start in starts:
    members = perm[start:start + group]
    quota = keep_last if start == starts[-1] else keep
    kept[members[np_hard_order(keys[members])[:quota]]] = True
  return kept


tie_heavy = st.lists(st.sampled_from((0.0, 1.0, 2.0, np.nan, np.inf)), min_size=N, max_size=N)


@settings(max_examples=15, deadline=None)
@given(tie_heavy, st.permutations(range(N)), st.integers(0, GROUP), st.integers(0, N - 3 * GROUP))
def test_within_groups_keeps_the_top_of_each_group(values, perm, keep, keep_last):
  keys = np.where(np.isnan(values), -np.inf, values).astype(np.float32)
  perm = np.array(perm, np.int32)
  groups = -(-N // GROUP)
  keep_G = np.array([keep] * (groups - 1) + [keep_last], np.int32)
  kept = _jitted("within_groups", group_size=GROUP)(keys, perm, keep_G=keep_G)
  np.testing.assert_array_equal(kept, _np_within_groups(keys, perm, GROUP, keep, keep_last))


@settings(max_examples=15, deadline=None)
@given(tie_heavy, st.permutations(range(N)), st.integers(0, N // GROUP))
def test_whole_groups_keeps_the_batches_with_the_highest_mean(values, perm, keep_groups):
  scores, perm = np.array(values, np.float32), np.array(perm, np.int32)
  kept = _jitted("whole_groups", group_size=GROUP, method="hard", temperature=1.0,
                 normalize="softmax")(scores, perm, keep_groups=keep_groups, noise_N=jnp.zeros(N))
  members = perm[: (N // GROUP) * GROUP].reshape(-1, GROUP)
  with np.errstate(invalid="ignore"):
    means = np.array([np.inf if np.isinf(s).any() else np.nanmean(s) if np.isfinite(s).any()
                      else np.nan for s in scores[members]])
  expected = np.zeros(N, bool)
  expected[members[np_hard_order(means)[:keep_groups]].ravel()] = True
  np.testing.assert_array_equal(kept, expected)
  assert kept.sum() == keep_groups * GROUP


def test_unbiased_prune_drops_only_below_mean_and_reweights():
  scores = jnp.asarray(np.random.default_rng(0).exponential(1.0, 4000), jnp.float32)
  seen = jnp.arange(4000) % 10 != 0  # unseen examples are never pruned
  uniform = np.random.default_rng(1).uniform(size=4000).astype(np.float32)
  kept, weights = _jitted("unbiased_prune", prune=0.5)(scores, seen, uniform=uniform)
  kept, weights, scores, seen = map(np.asarray, (kept, weights, scores, seen))
  below = seen & (scores < scores[seen].mean())
  assert kept[~below].all()
  dropped = (~kept[below]).mean()
  assert abs(dropped - 0.5) < 4.5 * np.sqrt(0.25 / below.sum())
  np.testing.assert_array_equal(weights, np.where(below & kept, 2.0, 1.0))


def test_unbiased_prune_never_keeps_the_excluded_and_leaves_them_out_of_the_mean():
  scores = np.random.default_rng(0).exponential(1.0, 4000).astype(np.float32)
  seen = np.arange(4000) % 10 != 0
  excluded = seen & (scores > np.quantile(scores, 0.8))
  uniform = np.random.default_rng(1).uniform(size=4000).astype(np.float32)
  kept, weights = map(np.asarray, _jitted("unbiased_prune", prune=0.5)(
      scores, seen, uniform=uniform, excluded=excluded))
  assert not kept[excluded].any()
  below = seen & ~excluded & (scores < scores[seen & ~excluded].mean())  # the mean of the rest
  np.testing.assert_array_equal(kept, ~excluded & ~(below & (uniform < 0.5)))
  np.testing.assert_array_equal(weights, np.where(below & kept, 2.0, 1.0))


def test_mixed_takes_ntk_then_residual_then_random():
  ntk = jnp.arange(20.0)                        # top NTK: 19, 18, 17
  residual = jnp.where(jnp.arange(20) < 10, 100.0 - jnp.arange(20), 0.0)  # top rest: 0, 1
  noise = np.random.default_rng(0).permutation(20).astype(np.float32)  # any distinct keys
  kept = np.asarray(_jitted("mixed")(ntk, residual, noise, 3, 2, 8))
  assert kept.sum() == 8 and kept[[17, 18, 19, 0, 1]].all()
  rest = np.setdiff1d(np.arange(20), [17, 18, 19, 0, 1])
  expected_random = rest[np_hard_order(noise[rest])[:3]]
  assert kept[expected_random].all()


def test_epoch_randomness_and_kept_first():
  key_data = jax.random.key_data(jax.random.key(3))
  like = jnp.zeros((1, 96), jnp.int32)  # one logical shard
  draws = [teacher.epoch_randomness(key_data, epoch, like, pool_size=96) for epoch in range(40)]
  perms, uniforms = (np.stack([np.asarray(d[i])[0] for d in draws]) for i in (0, 1))
  assert all(sorted(p) == list(range(96)) for p in perms) and len({p.tobytes() for p in perms}) == 40
  assert uniforms.min() >= 0.0 and uniforms.max() < 1.0 and abs(uniforms.mean() - 0.5) < 0.025
  assert abs(np.asarray(rules.gumbel(uniforms)).mean() - np.euler_gamma) < 0.1
  kept = np.arange(96) % 3 == 0
  order = np.asarray(_jitted("kept_first")(perms[0], kept))
  np.testing.assert_array_equal(order, perms[0][np.argsort(~kept[perms[0]], kind="stable")])
