"""The empirical (attention) neural tangent kernel, K(x1, x2) = J(x1) J(x2)^T, materialised.

Built from jax.vjp / jax.jvp / jax.linearize / jax.vmap only, so embedding lookups, scans and
remat inside the model just work (derivatives are taken w.r.t. the parameters; inputs may be ints).
Two methods, one answer (see attent_jax.ntk.cost for when each is faster):
  "jacobian"  per-example Jacobians (reverse mode, vmapped over examples), contracted per leaf.
  "ntvp"      NTK-vector products: for each output e_j of x2, u = J2^T e_j (one VJP of one
              example), then the column J1 u (one JVP over x1). No Jacobian is stored.
Pure jax; no flax.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from attent_jax.ntk import cost as ntk_cost
from attent_jax.ntk.axes import OutputAxes
from attent_jax.ntk.batching import Batch, as_batch_of_one, batch_size, pad_batch, take_rows
from attent_jax.ntk.params import ParamFilter, partition

ApplyFn = Callable[[Any, Batch], jax.Array]
METHODS = ("auto", "jacobian", "ntvp")


def empirical_ntk(
    apply_fn: ApplyFn, params: Any, x1: Batch, x2: Batch | None = None, *,
    trace_axes: Iterable[int] = (-1,), diagonal_axes: Iterable[int] = (), method: str = "auto",
    param_filter: ParamFilter | None = None, chunk_size: int | None = None,
) -> jax.Array:
  """The empirical NTK of `apply_fn` at `params` between two batches, in float32.

  Args:
    apply_fn: apply_fn(params, x) -> f[N, ...] for a batch pytree x whose leaves have leading dim
      N (wrap a model that takes other arguments with functools.partial or a lambda). Examples
      must not interact (no batch norm). Pass the *same* function object across calls to reuse
      compilations: it is a static argument of the jitted kernel functions.
    params: the parameter pytree.
    x1: batch pytree [N1, ...] (integer leaves are fine).
    x2: batch pytree [N2, ...]; None means x1 and exploits symmetry (the Jacobians of x1 are
      computed once, and with chunking only the upper block triangle is computed).
    trace_axes: output axes summed over (default: the last, e.g. logits).
    diagonal_axes: output axes kept once (only the diagonal is computed).
    method: "jacobian", "ntvp", or "auto" (the cheaper by `ntk_cost.estimate_cost`).
    param_filter: predicate on a parameter's path; the kernel is over those parameters only
      (e.g. `attention_qkv`, the paper's ANTK, or `lora_only`).
    chunk_size: process x1 and x2 in blocks of this many examples (one compiled block function,
      a Python loop over blocks; the tail is padded) to bound memory. None: one block.

  Returns:
    f32 kernel of shape [N1, N2] followed by the non-traced output axes: diagonal axes once,
    the others as (x1, x2) pairs; e.g. f[N, L, V] with defaults gives [N1, N2, L, L]. The
    kernel is symmetric under swapping x1 and x2 (and each pair) and positive semi-definite.

  Pure. Each block is one jitted call that follows its inputs' shardings (no explicit
  shardings); it also works under an outer jax.jit when chunk_size is None.
  """
  if method not in METHODS:
    raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
  if chunk_size is not None and chunk_size < 1:
    raise ValueError(f"chunk_size must be positive, got {chunk_size}")
  trace_axes, diagonal_axes = tuple(trace_axes), tuple(diagonal_axes)
  symmetric = x2 is None
  shape1 = jax.eval_shape(apply_fn, params, x1).shape
  axes = OutputAxes.create(len(shape1), trace_axes, diagonal_axes)
  if not symmetric:  # x2's outputs must match x1's on the traced and diagonal axes
    axes.kernel_shape(shape1, jax.eval_shape(apply_fn, params, x2).shape)
  if method == "auto":
    method = ntk_cost.estimate_cost(apply_fn, params, x1, x2, trace_axes=trace_axes,
                                    diagonal_axes=diagonal_axes, param_filter=param_filter,
                                    chunk_size=chunk_size).method
  jitted = functools.partial(_kernel_block, apply_fn=apply_fn, axes=axes, method=method,
                             param_filter=param_filter)
  # Only the Jacobian method saves work on a symmetric block; ntvp reuses one compilation.
  block = lambda params, xa, xb, *, symmetric: jitted(
      params, xa, xb, symmetric=symmetric and method == "jacobian")
  if chunk_size is None:
    return block(params, x1, x1 if symmetric else x2, symmetric=symmetric)
  return _chunked_kernel(block, params, x1, x2, axes, chunk_size)


def _chunked_kernel(block: Callable[..., jax.Array], params: Any, x1: Batch, x2: Batch | None,
                    axes: OutputAxes, chunk_size: int) -> jax.Array:
  """Assembles the kernel from [chunk, chunk, ...] blocks (upper triangle when x2 is None)."""
  symmetric = x2 is None
  big1 = batch_size(x1)
  big2 = big1 if symmetric else batch_size(x2)
  chunk1, chunk2 = min(chunk_size, big1), min(chunk_size, big2)
  padded1 = pad_batch(x1, chunk1)
  padded2 = padded1 if symmetric else pad_batch(x2, chunk2)
  blocks1, blocks2 = -(-big1 // chunk1), -(-big2 // chunk2)
  rows1 = [take_rows(padded1, i * chunk1, (i + 1) * chunk1) for i in range(blocks1)]
  rows2 = rows1 if symmetric else [take_rows(padded2, j * chunk2, (j + 1) * chunk2)
                                   for j in range(blocks2)]
  grid: list[list[jax.Array | None]] = [[None] * blocks2 for _ in range(blocks1)]
  for i in range(blocks1):
    for j in range(i if symmetric else 0, blocks2):
      grid[i][j] = block(params, rows1[i], rows2[j], symmetric=symmetric and i == j)
      if symmetric and i != j:
        grid[j][i] = jnp.transpose(grid[i][j], axes.swap_permutation())
  kernel = jnp.concatenate([jnp.concatenate(row, axis=1) for row in grid], axis=0)
  return kernel[:big1, :big2]


@functools.partial(jax.jit, static_argnames=("apply_fn", "axes", "method", "param_filter",
                                             "symmetric"))
def _kernel_block(params: Any, xa: Batch, xb: Batch, *, apply_fn: ApplyFn, axes: OutputAxes,
                  method: str, param_filter: ParamFilter | None, symmetric: bool) -> jax.Array:
  """One block K(xa, xb); with `symmetric`, xb is xa and its Jacobians are computed once."""
  theta, merge = partition(params, param_filter)
  f = lambda th, x: apply_fn(merge(th), x)
  if method == "jacobian":
    jac_a = _per_example_jacobians(f, theta, xa)
    jac_b = jac_a if symmetric else _per_example_jacobians(f, theta, xb)
    return _contract(jac_a, jac_b, axes)
  return _ntvp_block(f, theta, xa, xb, axes)


def _single_example(f: Callable[[Sequence[jax.Array], Batch], jax.Array]
                    ) -> Callable[[Sequence[jax.Array], Batch], jax.Array]:
  """f(theta, batch) -> f[N, ...]  to  f(theta, example) -> f[...] (output in float32)."""
  return lambda theta, example: f(theta, as_batch_of_one(example))[0].astype(jnp.float32)


def _per_example_jacobians(f, theta: list[jax.Array], x: Batch) -> list[jax.Array]:
  """d f(x_i) / d theta for every example: leaves [N, *O, *leaf_shape], float32."""
  f_one = _single_example(f)

  def jacobian(example: Batch) -> list[jax.Array]:
    g = lambda th: f_one(th, example)
    out_size = jax.eval_shape(g, theta).size
    param_size = sum(leaf.size for leaf in theta)
    # Reverse mode costs one backward pass per output, forward mode one JVP per parameter.
    jac_fn = jax.jacrev(g) if out_size <= param_size else jax.jacfwd(g)
    return [leaf.astype(jnp.float32) for leaf in jac_fn(theta)]

  return jax.vmap(jacobian)(x)


def _contract(jac1: list[jax.Array], jac2: list[jax.Array], axes: OutputAxes) -> jax.Array:
  """Sum over parameter leaves of J1 . J2 with the layout of `axes`."""
  terms = []
  for leaf1, leaf2 in zip(jac1, jac2):
    param_ndim = leaf1.ndim - axes.ndim
    terms.append(jnp.einsum(axes.jacobian_subscripts(param_ndim), leaf1, leaf2,
                            preferred_element_type=jnp.float32))
  return functools.reduce(jnp.add, terms)


def _ntvp_block(f, theta: list[jax.Array], x1: Batch, x2: Batch, axes: OutputAxes) -> jax.Array:
  """K(x1, x2) column by column: for each x2 example, J1 (J2^T e) for its output basis e."""
  f_one = _single_example(f)
  out1, jvp1 = jax.linearize(lambda th: f(th, x1).astype(jnp.float32), theta)
  subscripts = axes.column_subscripts()

  def columns_of(example: Batch) -> jax.Array:
    out_j, vjp_j = jax.vjp(lambda th: f_one(th, example), theta)
    basis = jnp.eye(out_j.size, dtype=jnp.float32).reshape(out_j.size, *out_j.shape)
    (tangents,) = jax.vmap(vjp_j)(basis)  # J_j^T e for every basis e: leaves [O, *leaf]
    per_step = ntk_cost.tangent_batch(out_j.size, out1.shape[0])
    columns = jax.lax.map(jvp1, tangents, batch_size=per_step)  # [O, N1, *O1]
    return jnp.einsum(subscripts, columns.reshape(*out_j.shape, *out1.shape))

  return jnp.swapaxes(jax.lax.map(columns_of, x2), 0, 1)
