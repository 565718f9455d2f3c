"""Online batch selection (Loshchilov & Hutter): sampling by loss rank, checked statistically."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from selection_refs import POOL, np_hard_order, training_losses, unsharded_plans

from attent_jax import selection
from attent_jax.selection import online_batch

N, DRAWS = 40, 40_000


def _rank_probs(n, pressure):
  """The paper's distribution over ranks 0..n-1: p(r) proportional to exp(-log(s) r / n)."""
  p = np.exp(-math.log(pressure) * np.arange(n) / n)
  return p / p.sum()


@jax.jit
def _draws(scores, key):
  """DRAWS independent Gumbel-top-k key vectors for the same scores (pressure 100)."""
  noise = jax.random.gumbel(key, (DRAWS, scores.shape[0]))
  return jax.vmap(lambda g: online_batch.sampling_keys(scores, 100.0, g))(noise)


def test_one_draw_follows_the_rank_distribution():
  scores = np.random.default_rng(0).permutation(N).astype(np.float32)  # rank r = N - 1 - score
  keys = np.asarray(_draws(jnp.asarray(scores), jax.random.key(1)))
  picked_rank = (N - 1 - scores[np.argmax(keys, axis=1)]).astype(int)
  frequency = np.bincount(picked_rank, minlength=N) / DRAWS
  p = _rank_probs(N, 100.0)
  assert p[0] / p[-1] == pytest.approx(100.0 ** ((N - 1) / N))  # the selection pressure
  sigma = np.sqrt(p * (1 - p) / DRAWS)
  assert np.all(np.abs(frequency - p) < 4.5 * sigma + 1e-4), np.abs(frequency - p) / sigma
  chi2 = np.sum((frequency - p) ** 2 / p) * DRAWS  # 39 degrees of freedom: 99.9% quantile 72
  assert chi2 < 72


def test_k_draws_without_replacement_match_successive_sampling():
  scores = np.random.default_rng(2).permutation(N).astype(np.float32)
  keys = np.asarray(_draws(jnp.asarray(scores), jax.random.key(3)))
  k = 10
  top = np.argsort(-keys, axis=1)[:, :k]
  inclusion = np.bincount(top.reshape(-1), minlength=N) / DRAWS
  # reference: numpy's successive sampling without replacement, each draw proportional to p
  p_by_example = _rank_probs(N, 100.0)[(N - 1 - scores).astype(int)]
  rng = np.random.default_rng(4)
  reference = np.zeros(N)
  for _ in range(10_000):
    reference[rng.choice(N, k, replace=False, p=p_by_example)] += 1
  reference /= 10_000
  np.testing.assert_allclose(inclusion, reference, atol=0.03)
  assert inclusion[np.argmax(scores)] > 0.5 > inclusion[np.argmin(scores)]


def test_pressure_one_is_uniform_and_ties_rank_by_index():
  np.testing.assert_allclose(online_batch.rank_log_probs(jnp.arange(5.0), 1.0), 0.0)
  log_p = np.asarray(online_batch.rank_log_probs(jnp.array([1.0, 3.0, 3.0, jnp.inf]), 16.0))
  np.testing.assert_allclose(log_p, -math.log(16.0) * np.array([3, 1, 2, 0]) / 4, rtol=1e-6)


def test_online_batch_preset_samples_half_the_pool_favouring_high_losses():
  plans = unsharded_plans("online_batch")
  assert [int(p.count) for p in plans] == [POOL] + [POOL // 2] * 19
  kept = [set(p.examples()[0].tolist()) for p in plans[1:]]
  assert len({frozenset(k) for k in kept}) == 19  # a fresh draw every epoch
  # epoch 1 ranks epoch 0's losses (every example trained): its picks lean to the top ranks
  order = np_hard_order(training_losses(0))
  ranks = np.argsort(order)[sorted(kept[0])]
  assert np.mean(ranks) < 0.4 * POOL
  with pytest.raises(ValueError, match="pressure"):
    selection.make_teacher("online_batch", pool_size=POOL, total_epochs=3, pressure=0.5)
  with pytest.raises(ValueError, match="method"):
    selection.make_teacher("online_batch", pool_size=POOL, total_epochs=3, method="soft")
