"""empirical_ntk: both methods against an explicit sum over parameters, layout, symmetry, chunking."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from attent_jax import ntk
from tests.ntk.ntk_tiny_models import last_position, tiny_transformer

METHODS = ("jacobian", "ntvp")


@pytest.fixture(scope="module")
def reference(jacobians):
  """The explicit sum over parameters: K[i, l, c, j, m, d] = sum_p J1[i, l, c, p] J2[j, m, d, p]."""
  return np.tensordot(*jacobians, axes=([-1], [-1]))


@pytest.mark.parametrize("method", METHODS)
def test_methods_match_explicit_sum_over_parameters(method, params, batch1, batch2, reference):
  """Traced (C), diagonal (L) and paired (N) axes at once: K[i, j, l] = sum_c K[i,l,c; j,l,c]."""
  kernel = ntk.empirical_ntk(tiny_transformer, params, batch1, batch2, trace_axes=(2,),
                             diagonal_axes=(1,), method=method)
  assert kernel.shape == (5, 4, 5) and kernel.dtype == jnp.float32
  np.testing.assert_allclose(kernel, np.einsum("ilcjlc->ijl", reference), rtol=2e-5, atol=2e-5)


def test_layout_shapes(params, batch1, batch2):
  def shape(**kw):  # abstract evaluation: checks the layout without compiling
    kernel = lambda p, a, b: ntk.empirical_ntk(tiny_transformer, p, a, b, **kw)
    return jax.eval_shape(kernel, params, batch1, batch2).shape

  assert shape() == (5, 4, 5, 5)  # outputs [N, L=5, C=3], C traced
  assert shape(trace_axes=()) == (5, 4, 5, 5, 3, 3)
  assert shape(trace_axes=(1, 2)) == (5, 4)
  assert shape(trace_axes=(), diagonal_axes=(-1,)) == (5, 4, 5, 5, 3)
  assert shape(trace_axes=(-1,), diagonal_axes=(1,), method="ntvp") == (5, 4, 5)
  assert shape(trace_axes=(), method="ntvp", chunk_size=2) == (5, 4, 5, 5, 3, 3)
  for bad, message in [(dict(trace_axes=(0,)), "batch axis"),
                       (dict(trace_axes=(2,), diagonal_axes=(-1,)), "overlap"),
                       (dict(trace_axes=(3,)), "out of range"),
                       (dict(method="structured"), "unknown method")]:
    with pytest.raises(ValueError, match=message):
      shape(**bad)


@pytest.mark.parametrize("method", METHODS)
def test_symmetric_psd_chunked(method, params, batch1, batch2, jacobians, reference):
  """Default layout [N1, N2, L1, L2] in chunks of 2 (a padded tail): x2=None (upper block
  triangle, mirrored) equals x2=x1 and the explicit sum, is symmetric and PSD; x2 given too."""
  jac1 = jacobians[0]
  kernel = ntk.empirical_ntk(tiny_transformer, params, batch1, method=method, chunk_size=2)
  np.testing.assert_allclose(kernel, np.einsum("ilcp,jmcp->ijlm", jac1, jac1), rtol=2e-5,
                             atol=2e-5)
  same = ntk.empirical_ntk(tiny_transformer, params, batch1, batch1, method=method, chunk_size=2)
  np.testing.assert_allclose(kernel, same, rtol=1e-5, atol=1e-5)
  matrix = np.asarray(ntk.kernel_matrix(kernel))
  np.testing.assert_allclose(matrix, matrix.T, rtol=1e-5, atol=1e-5)
  assert np.linalg.eigvalsh(matrix).min() > -1e-5 * np.abs(matrix).max()
  chunked = ntk.empirical_ntk(tiny_transformer, params, batch1, batch2, method=method,
                              chunk_size=2)
  np.testing.assert_allclose(chunked, np.einsum("ilcjmc->ijlm", reference), rtol=2e-5,
                             atol=2e-5)


def test_linear_model_closed_form():
  rng = np.random.default_rng(3)
  x = rng.standard_normal((6, 4)).astype(np.float32)
  params = {"w": rng.standard_normal((4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
  linear = lambda p, x: x @ p["w"] + p["b"]
  gram = np.asarray(x @ x.T) + 1.0  # the bias contributes 1 per output
  np.testing.assert_allclose(ntk.empirical_ntk(linear, params, x), 3 * gram, rtol=1e-5)
  for method in METHODS:
    full = ntk.empirical_ntk(linear, params, x, trace_axes=(), method=method)
    np.testing.assert_allclose(full, np.einsum("ij,cd->ijcd", gram, np.eye(3)), rtol=1e-5,
                               atol=1e-6)


def test_param_filter_equals_kernel_of_restricted_model(params, batch1, batch2):
  attn = params["block_0"]["attn"]
  qkv = {name: attn[name] for name in "qkv"}
  flat, unravel = ravel_pytree(qkv)
  both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), batch1, batch2)
  merged = lambda w: {**params, "block_0": {"attn": {**attn, **unravel(w)}}}
  # the restricted model: everything but q, k, v closed over as constants
  jac = jax.jit(jax.jacrev(lambda w: last_position(merged(w), both)))(flat)
  expected = np.einsum("icp,jcp->ij", jac[:5], jac[5:])
  kernel = ntk.empirical_ntk(last_position, params, batch1, batch2, method="jacobian",
                             param_filter=ntk.attention_qkv)
  np.testing.assert_allclose(kernel, expected, rtol=2e-5, atol=2e-5)


def test_auto_cost_model_picks_by_shapes(params, batch1):
  # A transformer reuses each weight at every position: Jacobian contraction is cheaper.
  cost = ntk.estimate_cost(last_position, params, batch1)
  assert cost.method == "jacobian" and cost.ntvp_over_jacobian > 1
  # A wide linear readout with untraced outputs: F ~ P, so the NTK-vector products win.
  wide = {"w": jnp.ones((64, 32))}
  linear = lambda p, x: x @ p["w"]
  x = jnp.ones((8, 64))
  cost = ntk.estimate_cost(linear, wide, x, trace_axes=())
  assert cost.method == "ntvp" and cost.ntvp_over_jacobian < 1
  assert cost.forward_flops == pytest.approx(2 * 64 * 32, rel=0.05)
  # auto returns the same kernel as the method it picks
  np.testing.assert_allclose(ntk.empirical_ntk(linear, wide, x, trace_axes=()),
                             ntk.empirical_ntk(linear, wide, x, trace_axes=(), method="jacobian"),
                             rtol=1e-5)
  # a memory budget that the Jacobians do not fit in overrides the FLOP count
  tight = ntk.estimate_cost(last_position, params, batch1, memory_budget_bytes=1.0)
  assert tight.method == min(("jacobian", "ntvp"),
                             key=lambda m: getattr(tight, m).peak_bytes)
