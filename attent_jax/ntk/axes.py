"""The layout of an empirical kernel: which output axes are traced, kept once, or kept as pairs.

Semantics follow neural-tangents. For outputs f(x1) of shape [N1, A, B, ...] and f(x2) of shape
[N2, A', B', ...], the kernel keeps the axes in order, each one
  - traced (in `trace_axes`): summed over its diagonal, absent from the result;
  - diagonal (in `diagonal_axes`): only its diagonal is computed, present once;
  - otherwise: present as a pair (axis of x1, axis of x2), side by side.
The batch axis 0 is always a pair (N1, N2) and leads. Example: f of shape [N, L, V] with
trace_axes=(-1,) gives a kernel of shape [N1, N2, L1, L2]; with diagonal_axes=(1,) too, [N1, N2, L].
Pure Python; builds the einsum subscripts the kernel methods contract with.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable, Sequence


def canonical_axes(axes: Iterable[int], ndim: int, name: str) -> tuple[int, ...]:
  """Output axes as sorted non-negative ints in [1, ndim). Axis 0 (the batch) is not allowed."""
  result = []
  for axis in axes:
    if not -ndim <= axis < ndim:
      raise ValueError(f"{name} axis {axis} is out of range for outputs with {ndim} dims")
    axis %= ndim
    if axis == 0:
      hint = " (outputs f[N] have no per-example axes: pass ())" if ndim == 1 else ""
      raise ValueError(f"{name} cannot include the batch axis 0{hint}")
    result.append(axis)
  if len(set(result)) != len(result):
    raise ValueError(f"{name} has a repeated axis: {tuple(axes)}")
  return tuple(sorted(result))


@dataclasses.dataclass(frozen=True)
class OutputAxes:
  """How a kernel treats each axis of the batched output f[N, ...] (hashable: a static jit arg)."""

  ndim: int
  trace: tuple[int, ...]
  diagonal: tuple[int, ...]

  @classmethod
  def create(cls, ndim: int, trace_axes: Iterable[int], diagonal_axes: Iterable[int]) -> OutputAxes:
    """Validates and canonicalises the axes for outputs with `ndim` dims (batch included)."""
    if ndim < 1:
      raise ValueError("apply_fn must return an array with a leading batch axis")
    trace = canonical_axes(trace_axes, ndim, "trace_axes")
    diagonal = canonical_axes(diagonal_axes, ndim, "diagonal_axes")
    if set(trace) & set(diagonal):
      raise ValueError(f"trace_axes {trace} and diagonal_axes {diagonal} overlap")
    return cls(ndim, trace, diagonal)

  def _letters(self) -> tuple[str, str, list[str], list[str], list[str], Iterable[str]]:
    """(batch1, batch2, axis letters of side 1, of side 2, result letters, unused letters)."""
    unused = iter(string.ascii_letters)
    batch1, batch2 = next(unused), next(unused)
    side1, side2, result = [], [], [batch1, batch2]
    for axis in range(1, self.ndim):
      if axis in self.trace or axis in self.diagonal:
        shared = next(unused)
        side1.append(shared)
        side2.append(shared)
        if axis in self.diagonal:
          result.append(shared)
      else:
        letter1, letter2 = next(unused), next(unused)
        side1.append(letter1)
        side2.append(letter2)
        result += [letter1, letter2]
    return batch1, batch2, side1, side2, result, unused

  def jacobian_subscripts(self, param_ndim: int) -> str:
    """einsum of J1 [N1, *O1, *p] and J2 [N2, *O2, *p] (one parameter leaf) into the kernel."""
    batch1, batch2, side1, side2, result, unused = self._letters()
    params = "".join(next(unused) for _ in range(param_ndim))
    return (f"{batch1}{''.join(side1)}{params},{batch2}{''.join(side2)}{params}"
            f"->{''.join(result)}")

  def column_subscripts(self) -> str:
    """einsum of one x2 example's columns C [*O2, N1, *O1] into its kernel slice (no N2 axis)."""
    batch1, batch2, side1, side2, result, _ = self._letters()
    result.remove(batch2)
    return f"{''.join(side2)}{batch1}{''.join(side1)}->{''.join(result)}"

  def kernel_shape(self, shape1: Sequence[int], shape2: Sequence[int]) -> tuple[int, ...]:
    """The kernel's shape for output shapes [N1, *O1] and [N2, *O2]."""
    if len(shape1) != self.ndim or len(shape2) != self.ndim:
      raise ValueError(f"outputs must have {self.ndim} dims, got {shape1} and {shape2}")
    shape = [shape1[0], shape2[0]]
    for axis in range(1, self.ndim):
      if axis in self.trace or axis in self.diagonal:
        if shape1[axis] != shape2[axis]:
          raise ValueError(f"traced/diagonal axis {axis} differs: {shape1} vs {shape2}")
        if axis in self.diagonal:
          shape.append(shape1[axis])
      else:
        shape += [shape1[axis], shape2[axis]]
    return tuple(shape)

  def swap_permutation(self) -> tuple[int, ...]:
    """Axis permutation taking K(x1, x2) to K(x2, x1): swaps the batch pair and every pair."""
    batch1, batch2, side1, side2, result, _ = self._letters()
    partner = {batch1: batch2, batch2: batch1}
    partner.update({a: b for a, b in zip(side1, side2) if a != b})
    partner.update({b: a for a, b in zip(side1, side2) if a != b})
    return tuple(result.index(partner.get(letter, letter)) for letter in result)
