"""The full-data frontier: what full data reaches at each wall-clock, and a run's gain over it.

Full data trained at several epoch budgets (each annealing its learning rate over its own budget) gives
one (wall-clock seconds, final metric) point per budget. The frontier is the piecewise-linear curve
through those points, in seconds. A teacher pays only if it ends above the frontier at its own
wall-clock: it beats simply training full data for fewer epochs.

Pure functions of plain numbers; no extrapolation: outside the budgets' range of seconds the frontier is
the nearest budget's value, and the answer says which side the run fell on.
"""

from __future__ import annotations

from collections.abc import Sequence

PREFIX = "full_data"  # Every frontier method's key starts with it ("full_data", "full_data@50%", ...).

INSIDE, BEFORE, AFTER = "inside", "before", "after"


def is_frontier(method: str) -> bool:
  """Whether `method` is one of the full-data budgets."""
  return method.startswith(PREFIX)


def value_at(points: Sequence[tuple[float, float]], seconds: float) -> tuple[float, str]:
  """The frontier's metric at `seconds`, and where `seconds` lies.

  points: (seconds, metric) of two or more budgets, in any order. Inside their range of seconds the
  value is interpolated linearly between the two neighbouring points ("inside"). Faster than every
  budget, it is the fastest budget's value ("before": a conservative comparison for the run, whose
  true frontier value is worse); slower than every budget, the slowest budget's value ("after": a
  generous one, since more epochs would have gained more)."""
  ordered = sorted((float(s), float(v)) for s, v in points)
  if len(ordered) < 2:
    raise ValueError(f"a frontier needs two or more budgets, got {len(ordered)}")
  if seconds < ordered[0][0]:
    return ordered[0][1], BEFORE
  if seconds > ordered[-1][0]:
    return ordered[-1][1], AFTER
  for (s0, v0), (s1, v1) in zip(ordered, ordered[1:]):
    if s0 <= seconds <= s1:
      if s1 == s0:  # Two budgets equally fast: their mean.
        return (v0 + v1) / 2, INSIDE
      return v0 + (v1 - v0) * (seconds - s0) / (s1 - s0), INSIDE
  raise AssertionError("unreachable: seconds lies within the sorted points")


def gain(points: Sequence[tuple[float, float]], seconds: float, value: float,
         higher_is_better: bool) -> tuple[float, str]:
  """(How far `value`, reached after `seconds`, lies above the frontier at `seconds`, side). Positive
  means better than full data in the same wall-clock, for either direction of the metric (for a loss,
  the frontier's loss minus the run's)."""
  at, side = value_at(points, seconds)
  return (value - at if higher_is_better else at - value), side
