"""Ratio and interval schedules: how much of the pool to train on, and when to re-select.

Both are pure functions of an integer step (an epoch, a selection round or a training step: whatever the
caller counts). `ratio_schedule` follows INT's and AtteNT's schedules, `interval_schedule` INT's
`incremental` interval and GraNT's curriculum. Both plan on the host: they take python (or numpy)
ints and return python values; a jitted consumer looks the planned values up in a table (as the
teacher does with its timetable).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from attent_jax.checks import require_choice as check_choice
from attent_jax.checks import require_int as check_int
from attent_jax.checks import require_ratio as check_ratio

RATIO_KINDS = ("constant", "linear", "step", "cosine")
INTERVAL_KINDS = ("dense", "fixed", "incremental", "curriculum")


def count_for(ratio: float, size: int) -> int:
  """How many of `size` items a ratio keeps: round half up, at least 1 (of a non-empty set), at most
  all.

  The one rounding rule of the package, shared by the teacher's device tables and `expected_count`.
  """
  if size <= 0:
    return 0
  return int(min(size, max(1, math.floor(float(ratio) * size + 0.5))))


def _host_int(step) -> int:
  if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
    raise ValueError(f"step must be a python or numpy int (schedules plan on the host), got {step!r}")
  return int(step)


def ratio_schedule(
    kind: str, *, start: float, end: float = 1.0, total_steps: int, stages: int = 10
) -> Callable:
  """Returns `schedule(step) -> ratio`, going from `start` at step 0 to `end` at `total_steps`.

  kinds: "constant" (always `start`), "linear", "step" (INT: start + floor(stages * t) / stages *
  (end - start) with t = step / total_steps, i.e. `stages` equal stages, reaching `end` at total_steps),
  "cosine" (half-cosine: start + (end - start) * (1 - cos(pi t)) / 2). start > end gives the decreasing
  variants. Steps outside [0, total_steps] are clipped. Takes a python int, returns a python float.
  Pure. Raises ValueError for an unknown kind or a ratio outside (0, 1] (and the schedule, for a
  step that is not an int).
  """
  check_choice("kind", kind, RATIO_KINDS)
  start = check_ratio("start", start)
  end = check_ratio("end", end)
  total_steps = check_int("total_steps", total_steps, 1)
  stages = check_int("stages", stages, 1)

  def schedule(step):
    step = min(max(_host_int(step), 0), total_steps)
    if kind == "constant":
      fraction = 0.0
    elif kind == "linear":
      fraction = step / total_steps
    elif kind == "step":  # integer arithmetic: exact stage boundaries
      fraction = ((stages * step) // total_steps) / stages
    else:
      fraction = (1.0 - math.cos(math.pi * step / total_steps)) / 2.0
    return float(start + (end - start) * fraction)

  return schedule


def _incremental_table(total: int, dense_share: float, unit: int | None) -> np.ndarray:
  """INT's `incremental` strategy: every step for the first floor(dense_share * total) steps (and the
  first phase length), then the rest split into 5 equal phases (integer division), phase p
  re-selecting at the steps that are multiples of unit * (p + 1). INT's unit is 10 on its 5000-step
  runs (intervals 10, 20, 30, 40, 50); by default it scales with the budget: max(1, round(total /
  500)), so a 5000-step table is INT's own and an epoch-scale run steps by 1, 2, 3, 4, 5 epochs."""
  unit = max(1, round(total / 500)) if unit is None else unit
  startup = math.floor(dense_share * total)
  phase = max(1, (total - startup) // 5)  # INT divides by zero here on runs under ~7 steps
  steps = np.arange(total)
  interval = unit * (np.maximum(1, steps - startup) // phase + 1)
  return (steps < startup) | (steps < phase) | (steps % interval == 0)


def _curriculum_table(
    total: int, dense_share: float, short: int | None, long: int | None
) -> np.ndarray:
  """GraNT's `simple_curriculum`: every step for the first floor(dense_share * total) steps; after
  that a step re-selects when it has reached a trigger counter, which then advances by the interval
  short + floor((long - short) * step / total). As in GraNT's code the counter starts at 0 when the
  dense phase ends, so re-selection stays dense until the counter catches up with the step (about
  8 more epochs on GraNT's 600-epoch runs). short and long default to GraNT's 5 and 50 on a 500-step
  run, scaled: max(1, round(total / 100)) and max(short, round(total / 10))."""
  short = max(1, round(total / 100)) if short is None else short
  long = max(short, round(total / 10)) if long is None else long
  table = np.zeros(total, bool)
  startup = math.floor(dense_share * total)
  trigger = 0
  for step in range(total):
    if step < startup:
      table[step] = True
    elif step >= trigger:
      trigger += short + (long - short) * step // total
      table[step] = True
  return table


def interval_schedule(
    kind: str, *, total_steps: int, every: int = 1, dense_share: float | None = None,
    growth: int | None = None, short: int | None = None, long: int | None = None,
) -> Callable:
  """Returns `reselect(step) -> bool`: whether to re-select at `step` (0 <= step < total_steps).

  kinds:
    "dense": every step.
    "fixed": every `every` steps (step % every == 0).
    "incremental" (INT's released strategy): every step for the first `dense_share` (0.25), then 5
      equal phases whose re-selections fall on the multiples of growth * 1, 2, 3, 4, 5 (INT's 10, 20,
      30, 40, 50 on its 5000-step runs). `growth` defaults to max(1, round(total_steps / 500)):
      INT's own table at 5000 steps, intervals of 1, 2, 3, 4, 5 on an epoch-scale run.
    "curriculum" (GraNT's released strategy): every step for the first `dense_share` (0.1), then a
      trigger counter (starting at 0) that advances by short + floor((long - short) * step /
      total_steps) at each re-selection, GraNT's 5 -> 50 on a 500-step run with the defaults
      short = max(1, round(total/100)), long = max(short, round(total/10)).
  Step 0 always re-selects. Steps outside [0, total_steps) give False. Takes a python int, returns a
  python bool. Pure.
  """
  check_choice("kind", kind, INTERVAL_KINDS)
  total_steps = check_int("total_steps", total_steps, 1)
  every = check_int("every", every, 1)
  extra = {"dense_share": dense_share, "growth": growth, "short": short, "long": long}
  allowed = {"incremental": ("dense_share", "growth"), "curriculum": ("dense_share", "short", "long")}
  for name, value in extra.items():
    if value is not None and name not in allowed.get(kind, ()):
      raise ValueError(f"{name} does not apply to interval kind {kind!r}")
  if dense_share is not None:
    dense_share = check_ratio("dense_share", dense_share)
  for name in ("growth", "short", "long"):
    if extra[name] is not None:
      check_int(name, extra[name], 1)
  if short is not None and long is not None and long < short:
    raise ValueError(f"long must be >= short, got short={short}, long={long}")

  steps = np.arange(total_steps)
  if kind == "dense":
    table = np.ones(total_steps, bool)
  elif kind == "fixed":
    table = steps % every == 0
  elif kind == "incremental":
    table = _incremental_table(total_steps, 0.25 if dense_share is None else dense_share, growth)
  else:
    table = _curriculum_table(total_steps, 0.1 if dense_share is None else dense_share, short, long)

  def reselect(step):
    step = _host_int(step)
    return bool(0 <= step < total_steps and table[step])

  return reselect

