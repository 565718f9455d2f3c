"""The learning rate on nominal full-data epoch progress (`config.train.schedule_over = "epochs"`).

Part of the training stack, beside `experiment.py` (which builds it) and `lr_floor.py`.

With `schedule_over = "steps"` (the default) the optax schedule runs over the steps the run plans to
take, so a subset run does its whole warm-up and anneal in fewer steps. With "epochs", as in the
AtteNT paper's ViT code, the schedule follows how far the run is through its epochs: the step that
finishes batch b (0-based) of an epoch with B batches, in epoch e of E, stands at

    progress = (e + (b + 1) / B) / E

and the LR is the schedule of an imaginary full-data run (`full_batches` batches per epoch, N = E *
full_batches steps) at its nominal step  s = progress * N - 1, a schedule that decays over N - 1
steps. So a subset epoch covers the same stretch of the schedule as a full epoch, warm-up is counted in
full-data steps (i.e. in epoch units), a full-data run gets the same LRs as under "steps" (up to the
one-step-shorter decay), and the last step of every run, whatever its real epoch lengths (InfoBatch's
pruned epochs), is at exactly progress 1, the floor LR.

The LRs depend only on (epoch, batches this epoch), both known once the epoch is planned, so they are
computed on the host once per epoch and fed to the jitted step as a scalar: a resumed run recomputes
the same values, and nothing extra is checkpointed.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

SCHEDULE_OVER = ("steps", "epochs")


def nominal_steps(epoch: int, batches: int, full_batches: int) -> np.ndarray:
  """f64[batches]: the nominal full-data step of each of the epoch's batches (see the module doc)."""
  if batches <= 0 or full_batches <= 0:
    raise ValueError(f"batches and full_batches must be positive, got {batches}, {full_batches}")
  done = (np.arange(batches, dtype=np.float64) + 1.0) / batches
  return (epoch + done) * full_batches - 1.0


class EpochProgressRates:
  """Per-epoch LR tables from a nominal-step schedule. Pure; cheap (one schedule call per epoch).

  schedule: nominal step -> LR (an optax schedule, possibly with GraNT's floor, over nominal steps);
  full_batches: batches of a full-data epoch.
  """

  def __init__(self, schedule: Callable, full_batches: int):
    self.schedule, self.full_batches = schedule, int(full_batches)

  def __call__(self, epoch: int, batches: int) -> np.ndarray:
    """f32[batches]: the LR of each of the epoch's steps, in order."""
    steps = nominal_steps(epoch, batches, self.full_batches)
    return np.asarray(self.schedule(jnp.asarray(steps, jnp.float32)), np.float32)
