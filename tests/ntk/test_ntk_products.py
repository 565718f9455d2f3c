"""Matrix-free products: K v and NINT's NTK-guided scores against dense kernels from jax.jacrev.

The unchunked and chunked pool passes are each covered once (compiles dominate test time).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import losses, ntk, sharding
from tests.ntk.ntk_tiny_models import make_batch, tiny_transformer


@pytest.fixture(scope="module")
def full_kernel(jacobians):
  """Dense K over batch1's output space: [5, L, C, 5, L, C]."""
  jac = jacobians[0]
  return np.tensordot(jac, jac, axes=([-1], [-1]))


def test_ntk_vector_product_matches_dense(params, batch1, full_kernel):
  v = np.random.default_rng(5).standard_normal((5, 5, 3)).astype(np.float32)
  expected = np.einsum("ilcjmd,jmd->ilc", full_kernel, v)
  product = ntk.ntk_vector_product(tiny_transformer, params, batch1, v)
  np.testing.assert_allclose(product, expected, rtol=2e-5, atol=2e-4)


def test_traced_ntk_vector_product_matches_traced_kernel(params, batch1, full_kernel):
  # a vector on the output space without the traced C axis
  w = np.random.default_rng(6).standard_normal((5, 5)).astype(np.float32)
  traced = np.einsum("ilcjmc->iljm", full_kernel)
  product = ntk.ntk_vector_product(tiny_transformer, params, batch1, w, trace_axes=(-1,),
                                   chunk_size=2)
  np.testing.assert_allclose(product, np.einsum("iljm,jm->il", traced, w), rtol=2e-5, atol=2e-4)
  with pytest.raises(ValueError, match="v must have shape"):
    ntk.ntk_vector_product(tiny_transformer, params, batch1, jnp.ones((5, 5, 3)),
                           trace_axes=(-1,))


def _token_loss(outputs, batch):
  return losses.cross_entropy(outputs, batch["labels"])[0]


def test_ntk_guided_scores_match_dense(params, batch1, full_kernel):
  labels = np.random.default_rng(7).integers(0, 3, (5, 5))
  pool = {**batch1, "labels": labels}
  outputs = np.asarray(jax.jit(tiny_transformer)(params, batch1), np.float64)
  probs = np.exp(outputs) / np.exp(outputs).sum(-1, keepdims=True)
  residual = (probs - np.eye(3)[labels]) / 5  # d(sum of mean-over-L CE)/df: (softmax - onehot) / L
  moved = np.einsum("ilcjmd,jmd->ilc", full_kernel, residual)
  expected = np.linalg.norm(moved.reshape(5, -1), axis=1)
  # chunks of 2 with a padded tail (padded rows must not contribute to J^T r)
  scores = ntk.ntk_guided_scores(tiny_transformer, params, pool, _token_loss, chunk_size=2)
  assert scores.shape == (5,) and scores.dtype == jnp.float32
  np.testing.assert_allclose(scores, expected, rtol=1e-4)


def test_guided_scores_on_a_pool_sharded_over_8_devices(params):
  """The same scores whether the pool lives on one device or is split over a `data` mesh axis."""
  pool = {**make_batch(3, 8), "labels": np.random.default_rng(8).integers(0, 3, (8, 5))}
  expected = ntk.ntk_guided_scores(tiny_transformer, params, pool, _token_loss)
  sharded = jax.device_put(pool, sharding.batch_sharding(sharding.make_mesh(8)))
  scores = ntk.ntk_guided_scores(tiny_transformer, params, sharded, _token_loss)
  np.testing.assert_allclose(scores, expected, rtol=1e-5)
