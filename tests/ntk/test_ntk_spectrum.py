"""Spectra: Lanczos against dense eigh, matrix-free top eigenpairs of the ANTK, ranks, alignment."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import ntk
from tests.ntk.ntk_tiny_models import last_position


def _assert_same_eigenpairs(pairs, values, vectors_KD, rtol):
  k = len(pairs.values)
  np.testing.assert_allclose(pairs.values, values[:k], rtol=rtol, atol=rtol * values[0])
  overlap = np.abs(np.sum(np.asarray(pairs.vectors).reshape(k, -1) * vectors_KD[:k], axis=1))
  np.testing.assert_allclose(overlap, 1.0, atol=1e-3)


@pytest.mark.parametrize("rank", [40, 6])
def test_lanczos_matches_eigh(rank):
  rng = np.random.default_rng(rank)
  factor = rng.normal(size=(40, rank)).astype(np.float32)
  matrix = factor @ factor.T
  values, vectors = np.linalg.eigh(matrix.astype(np.float64))
  values, vectors = values[::-1], vectors[:, ::-1].T
  pairs = ntk.lanczos_eigenpairs(lambda v: matrix @ v, (40,), 8, tol=1e-6)
  assert pairs.converged and pairs.num_matvecs <= 40
  if rank > 8:
    _assert_same_eigenpairs(pairs, values, vectors, rtol=1e-4)
  else:  # rank-deficient: the restart finds the null space, eigenvalues 0 after the top 6
    np.testing.assert_allclose(pairs.values, values[:8], rtol=1e-4, atol=1e-4 * values[0])
    top6 = dataclasses.replace(pairs, values=pairs.values[:6], vectors=pairs.vectors[:6])
    _assert_same_eigenpairs(top6, values, vectors, rtol=1e-4)


def test_top_eigenpairs_match_dense_eigh(params, batch1, jacobians):
  last = jacobians[0][:, -1]  # Jacobian of the last position's outputs: [5, C, P]
  kernel = jnp.einsum("icp,jdp->ijcd", last, last)  # the full kernel on output space
  values, vectors = ntk.kernel_eigh(kernel)
  assert values.shape == (15,) and vectors.shape == (15, 5, 3)
  matrix = ntk.kernel_matrix(kernel)
  np.testing.assert_allclose(matrix @ vectors[0].ravel(), values[0] * vectors[0].ravel(),
                             rtol=1e-4, atol=1e-4 * values[0])
  pairs = ntk.top_eigenpairs(last_position, params, batch1, 4, chunk_size=2)
  assert pairs.vectors.shape == (4, 5, 3)
  _assert_same_eigenpairs(pairs, np.asarray(values), np.asarray(vectors).reshape(15, -1),
                          rtol=1e-4)


def test_effective_rank_and_alignment():
  flat = jnp.array([2.0, 2.0, 2.0, 0.0, -1e-9])
  assert float(ntk.effective_rank(flat)) == pytest.approx(3.0, rel=1e-5)
  assert float(ntk.effective_rank(flat, kind="participation")) == pytest.approx(3.0, rel=1e-5)
  skewed = jnp.array([10.0, 1.0, 1.0])
  assert 1.0 < float(ntk.effective_rank(skewed, "participation")) < float(
      ntk.effective_rank(skewed)) < 3.0
  labels = jnp.array([0, 1, 1, 0, 2])
  onehot = jax.nn.one_hot(labels, 3)
  ideal = onehot @ onehot.T
  assert float(ntk.kernel_target_alignment(ideal, labels)) == pytest.approx(1.0, rel=1e-6)
  assert float(ntk.kernel_target_alignment(ideal, labels, centered=True)) == pytest.approx(1.0)
  identity = jnp.eye(5)
  # <I, YY^T> = 5, ||I|| = sqrt(5), ||YY^T|| = sqrt(4 + 4 + 1 + ... ) = sqrt(sum of squared counts)
  expected = 5 / (np.sqrt(5) * np.sqrt(2**2 + 2**2 + 1))
  assert float(ntk.kernel_target_alignment(identity, labels)) == pytest.approx(expected, rel=1e-6)
  with pytest.raises(ValueError):
    ntk.effective_rank(flat, kind="stable")
