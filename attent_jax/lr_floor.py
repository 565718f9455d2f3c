"""GraNT's learning-rate floor: after every re-selection epoch the LR is raised back to a floor.

Part of the training stack (`experiment.make_optimizer` applies it when the teacher's timetable sets
`lr_floor`); it lives beside `experiment.py`, which builds the optimizer.

GraNT's released training loop (its ogbg configs, under a ReduceLROnPlateau scheduler) sets
lr = max(floor, lr) at the end of every epoch that re-selected its subset; the scheduler then keeps
decaying multiplicatively from the raised value. Here the base schedule is a step-indexed optax
schedule, so the same thing is a multiplier that can only grow: at each raise step r_k,

    g_k = max(g_{k-1}, floor / base(r_k))        (g = 1 before the first raise)
    lr(t) = min(peak, base(t) * g_k)             for r_k <= t < r_{k+1}

i.e. the LR jumps to the floor when it had decayed below it and then follows the base schedule's
shape from there, never above the base schedule's peak. A raise where base(r_k) <= 0 changes
nothing. Everything is fixed before training (the raise steps come from the teacher's static
timetable and the steps each epoch takes), so the new schedule is a pure function of the step:
jittable, one table lookup, no state to checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np

Schedule = Callable[[jnp.ndarray], jnp.ndarray]


def raise_steps(reselected: Sequence[bool], steps_per_epoch: Sequence[int]) -> np.ndarray:
  """The steps at which the floor applies: the first step after each re-selection epoch.

  reselected: bool per epoch (the teacher's timetable phase == SELECT); steps_per_epoch: the
  optimizer steps each epoch takes. A re-selection in the last epoch raises nothing. int64[K],
  increasing.
  """
  if len(reselected) != len(steps_per_epoch):
    raise ValueError(f"reselected has {len(reselected)} epochs, steps_per_epoch "
                     f"{len(steps_per_epoch)}")
  ends = np.cumsum(np.asarray(steps_per_epoch, np.int64))
  total = int(ends[-1]) if len(ends) else 0
  steps = [int(end) for end, selected in zip(ends, reselected) if selected and end < total]
  return np.unique(np.asarray(steps, np.int64))


def with_lr_floor(base: Schedule, steps: np.ndarray, floor: float, total_steps: int) -> Schedule:
  """`base` with GraNT's floor raised at `steps` (see the module docstring). Pure.

  base: step -> LR (an optax schedule); steps: raise steps from `raise_steps`; floor > 0: the LR
  floor (absolute); total_steps: the run's length (the peak is base's maximum over [0, total]).
  Raises ValueError for a floor <= 0.
  """
  if not floor > 0:
    raise ValueError(f"floor must be > 0, got {floor!r}")
  steps = np.asarray(steps, np.int64)
  peak = float(np.max(np.asarray(base(jnp.arange(max(total_steps, 1) + 1)))))
  multipliers, g = [1.0], 1.0
  for step in steps:
    at = float(base(int(step)))
    if at > 0:
      g = max(g, floor / at)
    multipliers.append(g)
  table = jnp.asarray(multipliers, jnp.float32)
  boundaries = jnp.asarray(steps, jnp.int32)

  def schedule(step):
    k = jnp.searchsorted(boundaries, jnp.asarray(step, jnp.int32), side="right")
    return jnp.minimum(peak, base(step) * table[k])

  return schedule
