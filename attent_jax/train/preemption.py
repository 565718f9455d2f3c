"""Preemption: after which training step every process checkpoints and stops, agreed across hosts.

A scheduler announces preemption with SIGTERM, often to one host only, at a moment of its choosing.
If each process acted on its own flag, one host could enter the collective checkpoint save while
another enters the next train step's all-reduce, and both would hang. So:

  one process:      a SIGTERM handler sets a flag; `reached(step)` returns it.
  several processes (after `jax.distributed.initialize`): JAX's preemption sync manager catches
                    SIGTERM on any host, tells the others through the coordination service, and they
                    agree on one safe step (one past the largest step any of them has reached).
                    `reached(step)` calls `multihost_utils.reached_preemption_sync_point(step)`, which
                    is True on every process at exactly that step. Every process must call `reached`
                    once per train step, with the same steps; the loop does.

Used as a context manager around the training loop; the previous SIGTERM handler comes back on exit.
"""

from __future__ import annotations

import signal

import jax
from jax.experimental import multihost_utils


class Watcher:
  """Whether to checkpoint and stop after a step because of a preemption notice (see module doc)."""

  def __init__(self):
    self._requested = False
    self._previous = None
    self._installed = False

  def __enter__(self) -> "Watcher":
    if jax.process_count() > 1:
      return self  # JAX's own SIGTERM notifier feeds the sync manager; a Python handler would replace it.
    try:
      self._previous = signal.signal(signal.SIGTERM, self._handle)
      self._installed = True
    except ValueError:  # Not the main thread: no signal handling.
      pass
    return self

  def _handle(self, signum, frame):
    del signum, frame
    self._requested = True

  def reached(self, step: int) -> bool:
    """Call once after every train step (every process, the same steps): True when this is the step
    at which every process checkpoints and stops."""
    if jax.process_count() > 1:
      return multihost_utils.reached_preemption_sync_point(step)
    return self._requested

  def __exit__(self, *exc):
    if self._installed:
      signal.signal(signal.SIGTERM, self._previous)
