"""The cost model behind `empirical_ntk(method="auto")`: FLOPs and peak memory of the two methods.

Notation: N1, N2 pool sizes, processed in blocks of n1 x n2 examples (n = chunk_size, or the whole
pool); O1, O2 outputs per example; O_t, O_d the sizes of the traced and diagonal output axes,
p1, p2 the sizes of the paired ones (O = O_t O_d p); P differentiated parameters; F the FLOPs of one
forward pass of one example (XLA's cost analysis of the lowered single-example apply_fn); A the
residual bytes jax.vjp keeps for one example's backward pass (parameters not counted).
A reverse (VJP) or tangent (JVP) pass costs about 2F: each matmul y = x W becomes two.

  jacobian (contract per-example Jacobians), per block:
    FLOPs  = n1 F (1 + 2 O1) + n2 F (1 + 2 O2)      one forward and O backward passes per example
           + 2 n1 n2 O_t O_d p1 p2 P                  the contraction
    memory = 4 (n1 + n2) O P                          both Jacobians
           + (n1 + n2) (A + O a)                      residuals, O backward passes in flight
  ntvp (NTK-vector products: for every output e_j of x2, J1 (J2^T e_j)), per block:
    FLOPs  = n2 F (1 + 2 O2) + n1 F + 2 n1 n2 O2 F     vjps for x2's basis; linearize x1; one JVP
                                                       over x1 per basis vector
    memory = n1 (A + t a) + 4 O2 P + A + O2 a         x1's residuals, t tangents in flight,
                                                       one x2 example's basis VJPs
Here a = 4 x the largest single value of the forward pass (what one pass in flight holds).
A symmetric kernel (x2=None) computes the upper block triangle, and its diagonal blocks need one
set of Jacobians. Dropping the Jacobian-computing terms, ntvp / jacobian ~ F / (p1 p2 P): the NTK
vector products win only when a forward pass is cheap relative to the parameter count times the
paired outputs (e.g. untraced logits of an MLP). A transformer reuses every weight at each of its
L positions (F ~ 2 L P), so the Jacobian contraction wins by about F / P ~ 2L for traced outputs.

`auto` takes the method with fewer FLOPs among those whose peak memory fits the budget (default:
half the device's memory; the one with the smaller peak when neither fits). Pure jax; nothing
here runs the model, it only lowers it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.extend.core

from attent_jax.ntk.axes import OutputAxes
from attent_jax.ntk.batching import Batch, as_batch_of_one, batch_size
from attent_jax.ntk.params import ParamFilter, num_params

FALLBACK_MEMORY_BUDGET_BYTES = 4 * 2**30
# ntvp pushes at most this many (tangent, example) pairs through one JVP at a time.
MAX_TANGENT_EXAMPLES = 1024
# A backward or tangent pass in flight holds about this many of the forward's largest values.
_LIVE_ACTIVATIONS = 4
_FLOAT_BYTES = 4


@dataclasses.dataclass(frozen=True)
class MethodCost:
  """Estimated FLOPs of a whole kernel and the peak bytes of one block, for one method."""

  flops: float
  peak_bytes: float


@dataclasses.dataclass(frozen=True)
class NTKCost:
  """Both methods' estimates, the quantities they came from, and `method`: what auto picks."""

  jacobian: MethodCost
  ntvp: MethodCost
  forward_flops: float
  activation_bytes: float
  num_params: int
  method: str

  @property
  def ntvp_over_jacobian(self) -> float:
    """Predicted time ratio ntvp / jacobian (from FLOPs)."""
    return self.ntvp.flops / self.jacobian.flops


def tangent_batch(num_outputs: int, n1: int) -> int:
  """How many basis tangents ntvp pushes through one batched JVP over n1 examples."""
  return max(1, min(num_outputs, MAX_TANGENT_EXAMPLES // max(n1, 1)))


def _largest_intermediate_bytes(jaxpr: jax.extend.core.Jaxpr) -> int:
  """Bytes of the largest value a jaxpr computes, descending into sub-jaxprs."""
  largest = 0
  for eqn in jaxpr.eqns:
    for sub in jax.extend.core.jaxprs_in_params(eqn.params):
      largest = max(largest, _largest_intermediate_bytes(sub))
    for var in eqn.outvars:
      if hasattr(var.aval, "dtype"):
        largest = max(largest, var.aval.size * var.aval.dtype.itemsize)
  return largest


def forward_cost(apply_fn: Callable[[Any, Batch], jax.Array], params: Any,
                 x: Batch) -> tuple[float, float, float]:
  """(FLOPs, residual bytes, largest activation bytes) of one forward pass of one example.

  All from abstract evaluation of apply_fn on the first example of x (nothing runs):
  FLOPs from XLA's cost analysis of the lowered function (2 * number of params when the backend
  reports none); residuals: what jax.vjp keeps for the backward pass (the leaves of its vjp
  function), less one copy of the parameters, which a batch shares; the largest single value
  of the forward jaxpr.
  """
  example = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), x)
  abstract_params = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), params)
  one = lambda p, e: apply_fn(p, as_batch_of_one(e))
  analysis = jax.jit(one).lower(abstract_params, example).cost_analysis()
  if isinstance(analysis, (list, tuple)):
    analysis = analysis[0] if analysis else None
  flops = float(analysis["flops"]) if analysis and analysis.get("flops") else 2.0 * num_params(
      params)
  vjp_fn = jax.eval_shape(lambda p, e: jax.vjp(lambda q: one(q, e), p)[1], abstract_params,
                          example)
  nbytes = lambda tree: sum(a.size * a.dtype.itemsize for a in jax.tree.leaves(tree))
  largest = _largest_intermediate_bytes(jax.make_jaxpr(one)(abstract_params, example).jaxpr)
  residuals = max(nbytes(vjp_fn) - nbytes(abstract_params), largest)
  return flops, float(residuals), float(largest)


def default_memory_budget() -> float:
  """Half the memory of the default device: its allocator limit on GPU/TPU, host RAM on CPU."""
  stats = jax.devices()[0].memory_stats() or {}
  if "bytes_limit" in stats:
    return 0.5 * stats["bytes_limit"]
  try:
    return 0.5 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
  except (ValueError, OSError, AttributeError):
    return FALLBACK_MEMORY_BUDGET_BYTES


def estimate_cost(
    apply_fn: Callable[[Any, Batch], jax.Array], params: Any, x1: Batch, x2: Batch | None = None,
    *, trace_axes: Iterable[int] = (-1,), diagonal_axes: Iterable[int] = (),
    param_filter: ParamFilter | None = None, chunk_size: int | None = None,
    memory_budget_bytes: float | None = None,
) -> NTKCost:
  """Estimates both methods for `empirical_ntk` with the same arguments, and picks one.

  Shapes only: evaluates apply_fn abstractly (jax.eval_shape) and lowers it once for one example.
  See the module docstring for the formulas. memory_budget_bytes defaults to
  `default_memory_budget()` (half the device's memory).
  """
  if memory_budget_bytes is None:
    memory_budget_bytes = default_memory_budget()
  symmetric = x2 is None
  x2 = x1 if symmetric else x2
  shape1 = jax.eval_shape(apply_fn, params, x1).shape
  shape2 = jax.eval_shape(apply_fn, params, x2).shape
  axes = OutputAxes.create(len(shape1), trace_axes, diagonal_axes)
  axes.kernel_shape(shape1, shape2)  # validates the pairing of x1's and x2's outputs
  forward_flops, activation_bytes, largest = forward_cost(apply_fn, params, x1)
  live = _LIVE_ACTIVATIONS * largest  # what one more backward or tangent pass holds at a time
  total_params = num_params(params, param_filter)

  def size(shape, keep) -> int:
    return math.prod(shape[a] for a in range(1, len(shape)) if keep(a))

  paired = lambda a: a not in axes.trace and a not in axes.diagonal
  o1, o2 = size(shape1, lambda a: True), size(shape2, lambda a: True)
  shared = size(shape1, lambda a: not paired(a))
  p1, p2 = size(shape1, paired), size(shape2, paired)
  big1, big2 = batch_size(x1), batch_size(x2)
  n1, n2 = min(chunk_size or big1, big1), min(chunk_size or big2, big2)
  blocks1, blocks2 = -(-big1 // n1), -(-big2 // n2)
  if symmetric:
    diagonal_blocks, other_blocks = blocks1, blocks1 * (blocks1 - 1) // 2
  else:
    diagonal_blocks, other_blocks = 0, blocks1 * blocks2
  f = forward_flops

  contraction = 2.0 * n1 * n2 * shared * p1 * p2 * total_params
  jac_rows1, jac_rows2 = n1 * f * (1 + 2 * o1), n2 * f * (1 + 2 * o2)
  jacobian_flops = (diagonal_blocks * (jac_rows1 + contraction)
                    + other_blocks * (jac_rows1 + jac_rows2 + contraction))
  ntvp_block = n2 * f * (1 + 2 * o2) + n1 * f + 2.0 * n1 * n2 * o2 * f
  ntvp_flops = (diagonal_blocks + other_blocks) * ntvp_block

  rows = n1 if other_blocks == 0 else n1 + n2
  jacobian = MethodCost(jacobian_flops, _FLOAT_BYTES * rows * o1 * total_params
                        + rows * activation_bytes + rows * o1 * live)
  t = tangent_batch(o2, n1)
  ntvp = MethodCost(ntvp_flops, n1 * activation_bytes + t * n1 * live
                    + _FLOAT_BYTES * o2 * total_params + activation_bytes + o2 * live)
  candidates = {"jacobian": jacobian, "ntvp": ntvp}
  fits = {name: c for name, c in candidates.items() if c.peak_bytes <= memory_budget_bytes}
  if fits:
    method = min(fits, key=lambda name: fits[name].flops)
  else:
    method = min(candidates, key=lambda name: candidates[name].peak_bytes)
  return NTKCost(jacobian, ntvp, forward_flops, activation_bytes, total_params, method)
