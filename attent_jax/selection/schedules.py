"""Ratio and interval schedules: how much of the pool to train on, and when to re-select.

Both are pure functions of an integer step (an epoch, a selection round or a training step: whatever the
caller counts). `ratio_schedule` follows INT's and AtteNT's schedules, `interval_schedule` INT's
`incremental` interval and GraNT's curriculum. Both accept python ints (returning python values, for
host-side planning) and traced or concrete jax integers (returning jax values, for use under `jit`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
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


def _is_host_int(step) -> bool:
  return isinstance(step, (int, np.integer)) and not isinstance(step, bool)


def ratio_schedule(
    kind: str, *, start: float, end: float = 1.0, total_steps: int, stages: int = 10
) -> Callable:
  """Returns `schedule(step) -> ratio`, going from `start` at step 0 to `end` at `total_steps`.

  kinds: "constant" (always `start`), "linear", "step" (INT: start + floor(stages * t) / stages *
  (end - start) with t = step / total_steps, i.e. `stages` equal stages, reaching `end` at total_steps),
  "cosine" (half-cosine: start + (end - start) * (1 - cos(pi t)) / 2). start > end gives the decreasing
  variants. Steps outside [0, total_steps] are clipped. A python int step gives a python float; a jax
  integer (traced or not) gives a float32 jax scalar, so the schedule works inside `jit` with no
  retrace.
  Pure. Raises ValueError for an unknown kind or a ratio outside (0, 1].
  """
  check_choice("kind", kind, RATIO_KINDS)
  start = check_ratio("start", start)
  end = check_ratio("end", end)
  total_steps = check_int("total_steps", total_steps, 1)
  stages = check_int("stages", stages, 1)

  def formula(xp, step):
    step = xp.clip(step, 0, total_steps)
    if kind == "constant":
      fraction = step * 0.0
    elif kind == "linear":
      fraction = step / total_steps
    elif kind == "step":  # integer arithmetic: exact stage boundaries
      fraction = ((stages * step) // total_steps) / stages
    else:
      fraction = (1.0 - xp.cos(math.pi * step / total_steps)) / 2.0
    return start + (end - start) * fraction

  def schedule(step):
    if _is_host_int(step):
      return float(formula(np, np.int64(step)))
    return formula(jnp, jnp.asarray(step, jnp.int32)).astype(jnp.float32)

  return schedule


def _incremental_table(total: int, dense_share: float, growth: int | None) -> np.ndarray:
  """INT: every step for the first `dense_share`, then intervals growth * (1, 2, 3, 4, 5, 5, ...)."""
  if growth is None:  # INT's 10, 20, ... 50 on ~1000+ steps; proportionally less on short runs
    growth = int(np.clip(total // 100, 1, 10))
  table = np.zeros(total, bool)
  dense = max(1, math.ceil(dense_share * total))
  table[:dense] = True
  step, multiple = dense - 1, 1
  while (step := step + min(multiple, 5) * growth) < total:
    table[step] = True
    multiple += 1
  return table


def _curriculum_table(
    total: int, dense_share: float, short: int | None, long: int | None
) -> np.ndarray:
  """GraNT: every step for the first `dense_share`, then an interval growing linearly short -> long."""
  short = max(1, round(total / 100)) if short is None else short
  long = max(short, round(total / 10)) if long is None else long
  table = np.zeros(total, bool)
  dense = max(1, math.ceil(dense_share * total))
  table[:dense] = True
  step = dense - 1
  while True:
    progress = (step - (dense - 1)) / max(total - dense, 1)
    step += max(1, round(short + (long - short) * progress))
    if step >= total:
      return table
    table[step] = True


def interval_schedule(
    kind: str, *, total_steps: int, every: int = 1, dense_share: float | None = None,
    growth: int | None = None, short: int | None = None, long: int | None = None,
) -> Callable:
  """Returns `reselect(step) -> bool`: whether to re-select at `step` (0 <= step < total_steps).

  kinds:
    "dense": every step.
    "fixed": every `every` steps (step % every == 0).
    "incremental" (INT): every step for the first `dense_share` (0.25) of the steps, then at intervals
      growth * 1, 2, 3, 4, 5, 5, ... (INT's 10, 20, 30, 40, 50). `growth` defaults to
      clip(total_steps // 100, 1, 10), so a short run grows by 1, 2, 3, ... steps instead.
    "curriculum" (GraNT): every step for the first `dense_share` (0.1), then an interval growing
      linearly with progress from `short` (default max(1, total/100)) to `long` (max(short, total/10)),
      GraNT's 5 -> 50 on a 500-step run.
  Step 0 always re-selects. Steps outside [0, total_steps) give False. A python int step gives a python
  bool; a jax integer gives a bool jax scalar (a table lookup, fine under `jit`). Pure.
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
    if _is_host_int(step):
      return bool(0 <= step < total_steps and table[step])
    step = jnp.asarray(step, jnp.int32)
    inside = (step >= 0) & (step < total_steps)
    return inside & jnp.asarray(table)[jnp.clip(step, 0, total_steps - 1)]

  return reselect

