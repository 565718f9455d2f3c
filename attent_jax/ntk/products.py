"""Matrix-free NTK products over a pool: K v = J (J^T v) and NINT's NTK-guided scores ||(K r)_i||.

Neither forms K or a Jacobian: one VJP over the pool accumulates u = J^T v (a parameter-shaped
vector), one JVP over the pool gives J u. With `chunk_size`, both passes walk the pool in chunks
inside one jitted function (lax.scan accumulates u, lax.map applies the JVP), so memory is that of
one chunk's forward pass plus two parameter-sized vectors. Pure jax; no flax.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from attent_jax.ntk.axes import canonical_axes
from attent_jax.ntk.batching import Batch, batch_size, from_chunks, pad_batch, to_chunks
from attent_jax.ntk.params import ParamFilter, partition

ApplyFn = Callable[[Any, Batch], jax.Array]
LossFn = Callable[[jax.Array, Batch], jax.Array]
_Fn = Callable[[Sequence[jax.Array], Batch], jax.Array]


def ntk_vector_product(
    apply_fn: ApplyFn, params: Any, x: Batch, v: jax.Array, *,
    param_filter: ParamFilter | None = None, chunk_size: int | None = None,
    trace_axes: Iterable[int] = (),
) -> jax.Array:
  """K(x, x) @ v without forming K: u = J^T v (one VJP), then J u (one JVP), in float32.

  Args:
    apply_fn, params, param_filter: as in `empirical_ntk` (apply_fn is a static jit argument).
    x: the pool, a batch pytree [N, ...].
    v: a vector in output space, f32 with the shape of apply_fn(params, x) = [N, *O]; K acts on
      the full, untraced kernel: (K v)_{i,a} = sum_{j,b} <df_a(x_i)/dθ, df_b(x_j)/dθ> v_{j,b}.
    chunk_size: walk the pool in chunks of this many examples (bounds memory; same result).
    trace_axes: output axes to trace, as in `empirical_ntk`. Then v (and the result) have the
      output shape without those axes, and the product is with the traced kernel
      K_tr[(i,a),(j,b)] = sum_c K[(i,a,c),(j,b,c)]: for each index c of the traced axes,
      K_tr v = sum_c [K (v ⊗ e_c)]_c, i.e. one VJP + JVP pair per traced index (lax.map over c),
      C = prod(traced sizes) times the cost of the untraced product.

  Returns:
    f32 array shaped like v. Pure; jitted per (apply_fn, param_filter, chunk_size, trace_axes).
  """
  matvec, _ = ntk_operator(apply_fn, params, x, param_filter=param_filter,
                           chunk_size=chunk_size, trace_axes=trace_axes)
  return matvec(v)


def ntk_operator(
    apply_fn: ApplyFn, params: Any, x: Batch, *, param_filter: ParamFilter | None = None,
    chunk_size: int | None = None, trace_axes: Iterable[int] = (),
) -> tuple[Callable[[jax.Array], jax.Array], tuple[int, ...]]:
  """K(x, x) as a linear operator: (matvec, shape), matvec(v) = `ntk_vector_product(..., v)`.

  `shape` is the vector shape: apply_fn's output shape without `trace_axes`. Validates the
  arguments and evaluates apply_fn's shape once; each matvec call is one jitted dispatch.
  """
  chunk_size = _clamped_chunk(chunk_size, x)
  out = jax.eval_shape(apply_fn, params, x)
  if not isinstance(out, jax.ShapeDtypeStruct):
    raise ValueError("ntk_vector_product / ntk_operator need apply_fn to return one array, got a "
                     f"{type(out).__name__} of outputs (ntk_guided_scores accepts pytrees)")
  out_shape = out.shape
  trace_axes = canonical_axes(trace_axes, len(out_shape), "trace_axes")
  shape = tuple(d for a, d in enumerate(out_shape) if a not in trace_axes)
  matvec = functools.partial(_ntk_matvec, params, x, apply_fn=apply_fn,
                             param_filter=param_filter, chunk_size=chunk_size,
                             trace_axes=trace_axes)
  return matvec, shape


def ntk_guided_scores(
    apply_fn: ApplyFn, params: Any, x: Batch, loss_fn: LossFn, *,
    param_filter: ParamFilter | None = None, chunk_size: int | None = None,
) -> jax.Array:
  """NINT's NTK-guided score of every pool example: score_i = ||(K r)_i|| = ||J_i J^T r||.

  r = d(sum_i loss_i)/df over the pool (for cross-entropy, softmax - onehot per position), so K r
  is the first-order change of the pool's outputs under one gradient step on the whole pool;
  score_i is how much example i moves. Computed with one VJP (u = J^T r) and one JVP (J u); K is
  never formed.

  Args:
    apply_fn, params, param_filter, chunk_size: as in `ntk_vector_product`; apply_fn may return a
      pytree of outputs (e.g. the MAE's {"pred", "target", "masked"}), each leaf [n, ...]: K is then
      taken over its floating-point leaves (a leaf that does not depend on the parameters, like a
      target, contributes nothing) and the other leaves pass through to loss_fn unchanged. For a
      LoRA model pass a `param_filter` that selects the trainable parameters only (e.g.
      `ntk.params.Paths`): the frozen ones are closed over as constants.
    x: the pool, a batch pytree [N, ...] (it also carries what loss_fn needs, e.g. labels).
    loss_fn: loss_fn(outputs, x_batch) -> per-example losses f32[n]; each loss may depend only on
      its own example's outputs.

  apply_fn, loss_fn and param_filter are static jit arguments, hashed by identity unless they
  define equality: pass the same objects on every call (bound methods of a long-lived object, not
  fresh lambdas), or each call compiles again.

  Returns:
    f32[N] scores (Frobenius norm over each example's floating output entries). Pure.
  """
  return _guided_scores(params, x, apply_fn=apply_fn, loss_fn=loss_fn,
                        param_filter=param_filter, chunk_size=_clamped_chunk(chunk_size, x))


def _clamped_chunk(chunk_size: int | None, x: Batch) -> int | None:
  """Validates chunk_size; a chunk as large as the pool is no chunking (None)."""
  if chunk_size is None:
    return None
  if chunk_size < 1:
    raise ValueError(f"chunk_size must be positive, got {chunk_size}")
  return None if chunk_size >= batch_size(x) else chunk_size


def _as_fn(apply_fn: ApplyFn, params: Any, param_filter: ParamFilter | None
           ) -> tuple[list[jax.Array], _Fn]:
  theta, merge = partition(params, param_filter)
  return theta, lambda th, batch: apply_fn(merge(th), batch).astype(jnp.float32)


def _add(a: list[jax.Array], b: list[jax.Array]) -> list[jax.Array]:
  return [p + q for p, q in zip(a, b)]


def _pool_vjp(f: _Fn, theta: list[jax.Array], x: Batch, rows: Any,
              cotangent: Callable[[jax.Array, Batch, Any], jax.Array],
              chunk_size: int | None) -> list[jax.Array]:
  """u = sum over chunks of J_chunk^T cotangent(outputs_chunk, x_chunk, rows_chunk).

  `rows` is a pytree of per-example arrays [N, ...] walked alongside x; its padded rows are
  zeros (False), so a cotangent built from them makes padded examples contribute nothing.
  """
  if chunk_size is None:
    out, vjp = jax.vjp(lambda th: f(th, x), theta)
    return vjp(cotangent(out, x, rows))[0]
  xs = to_chunks(pad_batch(x, chunk_size), chunk_size)
  rows = to_chunks(pad_batch(rows, chunk_size, zeros=True), chunk_size)

  def accumulate(u, chunk):
    x_c, rows_c = chunk
    out, vjp = jax.vjp(lambda th: f(th, x_c), theta)
    return _add(u, vjp(cotangent(out, x_c, rows_c))[0]), None

  u, _ = jax.lax.scan(accumulate, [jnp.zeros_like(leaf) for leaf in theta], (xs, rows))
  return u


def _pool_jvp(f: _Fn, theta: list[jax.Array], x: Batch, u: list[jax.Array],
              chunk_size: int | None) -> jax.Array:
  """J u over the pool: f32[N, *O]."""
  push = lambda x_c: jax.jvp(lambda th: f(th, x_c), (theta,), (u,))[1]
  if chunk_size is None:
    return push(x)
  xs = to_chunks(pad_batch(x, chunk_size), chunk_size)
  return from_chunks(jax.lax.map(push, xs), batch_size(x))


def _full_matvec(f: _Fn, theta: list[jax.Array], x: Batch, v: jax.Array,
                 chunk_size: int | None) -> jax.Array:
  """K v for the untraced kernel; v f32[N, *O]."""
  u = _pool_vjp(f, theta, x, v, lambda out, x_c, v_c: v_c.astype(out.dtype), chunk_size)
  return _pool_jvp(f, theta, x, u, chunk_size)


@functools.partial(jax.jit, static_argnames=("apply_fn", "param_filter", "chunk_size",
                                             "trace_axes"))
def _ntk_matvec(params: Any, x: Batch, v: jax.Array, *, apply_fn: ApplyFn,
                param_filter: ParamFilter | None, chunk_size: int | None,
                trace_axes: tuple[int, ...]) -> jax.Array:
  theta, f = _as_fn(apply_fn, params, param_filter)
  out_shape = jax.eval_shape(f, theta, x).shape
  expected = tuple(d for a, d in enumerate(out_shape) if a not in trace_axes)
  if v.shape != expected:
    raise ValueError(f"v must have shape {expected} (outputs {out_shape} without trace_axes "
                     f"{trace_axes}), got {v.shape}")
  v = v.astype(jnp.float32)
  if not trace_axes:
    return _full_matvec(f, theta, x, v, chunk_size)
  traced_shape = tuple(out_shape[a] for a in trace_axes)
  mask_shape = tuple(d if a in trace_axes else 1 for a, d in enumerate(out_shape))
  v_expanded = jnp.expand_dims(v, trace_axes)

  def one_index(c: jax.Array) -> jax.Array:
    onehot = jax.nn.one_hot(c, math.prod(traced_shape), dtype=jnp.float32).reshape(mask_shape)
    product = _full_matvec(f, theta, x, v_expanded * onehot, chunk_size)
    return jnp.sum(product * onehot, axis=trace_axes)

  return jnp.sum(jax.lax.map(one_index, jnp.arange(math.prod(traced_shape))), axis=0)


def _split_outputs(apply_fn: ApplyFn, merge: Callable[[Any], Any], theta: list[jax.Array],
                   x: Batch) -> tuple[Callable, Callable]:
  """For a pytree-valued apply_fn: (f, rebuild). f(th, batch) -> (floating leaves as f32, the other
  leaves), rebuild(floats, others) -> the outputs pytree. The structure comes from one shape
  evaluation (static)."""
  out = jax.eval_shape(lambda th: apply_fn(merge(th), x), theta)
  leaves, treedef = jax.tree.flatten(out)
  floating = [jnp.issubdtype(leaf.dtype, jnp.inexact) for leaf in leaves]

  def f(th, batch):
    values = jax.tree.leaves(apply_fn(merge(th), batch))
    return ([v.astype(jnp.float32) for v, fl in zip(values, floating) if fl],
            [v for v, fl in zip(values, floating) if not fl])

  def rebuild(floats, others):
    floats, others = iter(floats), iter(others)
    return treedef.unflatten([next(floats) if fl else next(others) for fl in floating])

  return f, rebuild


@functools.partial(jax.jit, static_argnames=("apply_fn", "loss_fn", "param_filter",
                                             "chunk_size"))
def _guided_scores(params: Any, x: Batch, *, apply_fn: ApplyFn, loss_fn: LossFn,
                   param_filter: ParamFilter | None, chunk_size: int | None) -> jax.Array:
  theta, merge = partition(params, param_filter)
  f, rebuild = _split_outputs(apply_fn, merge, theta, x)

  def residual(x_c: Batch, valid_c: jax.Array):
    """r = d(sum of valid losses)/d(floating outputs) and the VJP that pulls it back: J_c^T r."""
    floats, vjp, others = jax.vjp(lambda th: f(th, x_c), theta, has_aux=True)
    total = lambda fl: jnp.sum(jnp.where(valid_c, loss_fn(rebuild(fl, others), x_c)
                                         .astype(jnp.float32), 0.0))
    return vjp(jax.grad(total)(floats))[0]

  valid = jnp.ones((batch_size(x),), bool)
  if chunk_size is None:
    u = residual(x, valid)
  else:
    xs = to_chunks(pad_batch(x, chunk_size), chunk_size)
    valids = to_chunks(pad_batch(valid, chunk_size, zeros=True), chunk_size)
    u, _ = jax.lax.scan(lambda acc, c: (_add(acc, residual(*c)), None),
                        [jnp.zeros_like(leaf) for leaf in theta], (xs, valids))

  def squared_norms(x_c: Batch) -> jax.Array:
    moved = jax.jvp(lambda th: f(th, x_c)[0], (theta,), (u,))[1]
    return sum(jnp.sum(jnp.square(m.reshape(m.shape[0], -1)), axis=1) for m in moved)

  if chunk_size is None:
    squared = squared_norms(x)
  else:
    squared = from_chunks(jax.lax.map(squared_norms, to_chunks(pad_batch(x, chunk_size),
                                                               chunk_size)), batch_size(x))
  return jnp.sqrt(squared)
