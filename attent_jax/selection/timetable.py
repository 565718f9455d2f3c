"""A teacher's timetable: for every epoch, fixed before training, what kind of epoch it is.

The presets differ mostly in *when* they select and at what ratio; this module writes that down as host
numpy arrays of length total_epochs, which the teacher bakes into its jitted `next_epoch` as constant
lookup tables indexed by the epoch counter (an array in the state: no retrace from epoch to epoch), and
reads on the host for `wants_fresh_scores` and `expected_count`.

Phases:
  FULL    train on the whole pool (random order).
  SELECT  choose a new subset from the scores now in the cache (after a fresh scoring pass if `fresh`).
  REUSE   train on the previous epoch's subset again (re-shuffled).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from attent_jax.selection.schedules import interval_schedule, ratio_schedule

FULL, SELECT, REUSE = 0, 1, 2


@dataclasses.dataclass(frozen=True, eq=False)
class Timetable:
  """Per-epoch plan, each field a host numpy array of length total_epochs.

  phase int32 (FULL/SELECT/REUSE); fresh bool (the loop runs a fresh scoring pass before this epoch);
  ratio float64 (share of the pool trained on, 1.0 on FULL epochs, the reused ratio on REUSE epochs);
  ntk_share float64 (NINT: share of the picks made by NTK score; 0 for other teachers).
  lr_floor: None, or (GraNT) the learning rate, as a share of the peak learning rate, that training
  raises the LR back to after every SELECT epoch (`attent_jax.lr_floor` applies it).
  """
  phase: np.ndarray
  fresh: np.ndarray
  ratio: np.ndarray
  ntk_share: np.ndarray
  lr_floor: float | None = None

  @property
  def total_epochs(self) -> int:
    return len(self.phase)


def _finish(phase, fresh, ratio, ntk_share=None) -> Timetable:
  """Freezes the arrays; a selection at ratio >= 1 (and its reuses) is simply a full epoch."""
  phase, fresh, ratio = np.array(phase, np.int32), np.array(fresh, bool), np.array(ratio, np.float64)
  full = ratio >= 1.0
  phase[full], fresh[full], ratio[full] = FULL, False, 1.0
  ntk_share = np.zeros(len(phase)) if ntk_share is None else np.array(ntk_share, np.float64)
  for array in (phase, fresh, ratio, ntk_share):
    array.setflags(write=False)
  return Timetable(phase, fresh, ratio, ntk_share)


def full_data(total_epochs: int) -> Timetable:
  """Every epoch on the whole pool."""
  return _finish([FULL] * total_epochs, [False] * total_epochs, [1.0] * total_epochs)


def select_once(total_epochs: int, warmup: int, ratio: float, fresh: bool) -> Timetable:
  """`warmup` full epochs, one selection at `ratio`, then that subset for every remaining epoch."""
  phase = [FULL] * warmup + [SELECT] + [REUSE] * (total_epochs - warmup - 1)
  phase = phase[:total_epochs]
  return _finish(phase, [fresh and p == SELECT for p in phase],
                 [1.0 if p == FULL else ratio for p in phase])


def curriculum(
    total_epochs: int, warmup: int, ratio_at: Callable[[int], float],
    reselect_at: Callable[[int], bool], fresh_at: Callable[[int], bool] = lambda selection: True,
    ntk_share_at: Callable[[int], float] | None = None,
) -> Timetable:
  """`warmup` full epochs, then round r = epoch - warmup selects when `reselect_at(r)` (at ratio
  `ratio_at(r)`, after a fresh pass when `fresh_at(number of selections so far)`), else reuses."""
  phase, fresh, ratio, share = [], [], [], []
  current, selections = 1.0, 0
  for epoch in range(total_epochs):
    r = epoch - warmup
    if r < 0:
      phase.append(FULL), fresh.append(False), ratio.append(1.0), share.append(0.0)
      continue
    if reselect_at(r) or r == 0:
      current = ratio_at(r)
      phase.append(SELECT), fresh.append(fresh_at(selections))
      share.append(0.0 if ntk_share_at is None else ntk_share_at(r))
      selections += 1
    else:
      phase.append(REUSE), fresh.append(False), share.append(share[-1])
    ratio.append(current)
  return _finish(phase, fresh, ratio, share)


def cycles(
    total_epochs: int, cycles: int, ratio_kind: str, start: float, end: float, interval: int,
    interval_end: int | None, fresh: bool, redraw: bool,
) -> Timetable:
  """AtteNT-Complex: one full epoch, then `cycles` cycles of [select, subset epochs, full epochs].

  The epochs after the first are split into min(cycles, total_epochs - 1) cycles as evenly as possible
  (earlier cycles one epoch longer). Cycle c selects at ratio_schedule(ratio_kind, start -> end over
  the cycles)(c), after a fresh pass when `fresh`, then trains min(interval_c, cycle length) epochs on
  the subset (re-drawing it before each when `redraw`, else reusing it) and the rest of the cycle on
  the full pool. interval_c is `interval`, or grows linearly to `interval_end` over the cycles. So a
  small epoch budget degrades to fewer, shorter cycles that are all subset epochs, each re-scored at
  its start.
  """
  phase, fresh_flags, ratio = [FULL], [False], [1.0]
  remaining = total_epochs - 1
  count = min(cycles, remaining)
  schedule = ratio_schedule(ratio_kind, start=start, end=end, total_steps=max(count - 1, 1))
  for c in range(count):
    length = remaining // count + (1 if c < remaining % count else 0)
    grown = interval if interval_end is None else round(
        interval + (interval_end - interval) * c / max(count - 1, 1))
    subset = min(max(1, grown), length)
    r = schedule(c)
    phase += [SELECT] + [SELECT if redraw else REUSE] * (subset - 1) + [FULL] * (length - subset)
    fresh_flags += [fresh] + [False] * (length - 1)
    ratio += [r] * subset + [1.0] * (length - subset)
  return _finish(phase[:total_epochs], fresh_flags[:total_epochs], ratio[:total_epochs])


def unbiased_pruning(total_epochs: int, prune: float, final_full: float) -> Timetable:
  """InfoBatch: epoch 0 full (nothing scored yet), then prune every epoch before
  floor((1 - final_full) * total_epochs), full data after. `ratio` holds the expected kept share
  1 - prune / 2 (half the pool below the mean score; the true share depends on the scores)."""
  stop = math.floor((1.0 - final_full) * total_epochs + 1e-9)
  phase = [SELECT if 0 < e < stop else FULL for e in range(total_epochs)]
  return _finish(phase, [False] * total_epochs,
                 [1.0 - prune / 2 if p == SELECT else 1.0 for p in phase])


def interval_rounds(kind: str, rounds: int, **params) -> Callable[[int], bool]:
  """`interval_schedule` over `rounds` selection rounds (at least one round)."""
  return interval_schedule(kind, total_steps=max(rounds, 1), **params)
