"""Wall-clock accounting, split into the phases that honest reporting needs: train, score, select, eval."""

from __future__ import annotations

import contextlib
import time

PHASES = ("train", "score", "select", "eval")  # What `total` adds up.
OTHER = ("compile",)  # Ahead-of-time compilation of every step, once per process: reported, not in total.


class Stopwatch:
  """Accumulates seconds per phase. Callers block on device work before leaving a phase."""

  def __init__(self, totals: dict[str, float] | None = None):
    self.totals = {phase: 0.0 for phase in PHASES + OTHER}
    self.totals.update(totals or {})

  @contextlib.contextmanager
  def measure(self, phase: str):
    start = time.perf_counter()
    try:
      yield
    finally:
      self.totals[phase] += time.perf_counter() - start

  @property
  def total(self) -> float:
    return sum(self.totals[phase] for phase in PHASES)

  def as_metrics(self) -> dict[str, float]:
    return {**{f"time/{phase}": seconds for phase, seconds in self.totals.items()},
            "time/total": self.total}
