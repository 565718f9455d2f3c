"""When a run evaluates: after every `config.train.eval_every_epochs` epochs of the run ("epochs"), or
each time the examples trained so far pass a multiple of that many pool sizes ("examples").

A teacher that trains on a third of the pool per epoch evaluates three times as often per example
trained as full data under "epochs", and the evaluations are wall-clock its benchmark run pays. Under
"examples" every method evaluates as often per example trained, at nominal full-data epochs: full data
evaluates exactly as under "epochs", a subset run less often. Every run evaluates after its last epoch.
"""

from __future__ import annotations

CADENCES = ("epochs", "examples")


def check(cadence: str) -> None:
  """ValueError naming config.train.eval_cadence unless `cadence` is one of CADENCES."""
  if cadence not in CADENCES:
    raise ValueError(f"config.train.eval_cadence must be one of {CADENCES}, got {cadence!r}")


def due(cadence: str, every: int, *, epochs_done: int, examples_before: int, examples: int,
        pool_size: int, last: bool) -> bool:
  """Whether the epoch just trained ends with an evaluation.

  epochs_done: epochs finished before this one; examples_before: the examples they trained;
  examples: this epoch's; pool_size: the examples of one full-data epoch; last: the run's last epoch.
  """
  check(cadence)
  if last:
    return True
  if cadence == "epochs":
    return (epochs_done + 1) % every == 0
  stride = every * pool_size
  return (examples_before + examples) // stride > examples_before // stride
