"""Golden selections: every teacher a recorded benchmark ran, fed the same pseudo-random scores, must keep
selecting exactly what it selected when those benchmarks were recorded.

`golden_selections.json` holds crc32 of each epoch's kept indices and their weights (in training
order), written by `write_golden()` below. Update it only for a change that alters selections on
purpose, and say so: recorded `selection_crc32` values in benchmarks/*/results.json then no longer
describe the code. Last rewritten for the teacher's logical-shard layout (`selection.layout`): the
epoch's shuffle is drawn per shard now, which changed every training order (the kept sets of hard
selections did not change). Every benchmark's recorded runs, tuning runs and `make demo`'s record were
re-made on that layout (2026-12-03). The entries of mae_fashion_mnist's attent_best and random_subset
were rewritten once more, on purpose, when its re-run tuning chose another teacher.
"""

import json
import pathlib
import zlib

import jax
import numpy as np
import pytest

from attent_jax import selection

ROOT = pathlib.Path(__file__).parents[2]
GOLDEN = pathlib.Path(__file__).with_name("golden_selections.json")
POOL = 257


def recorded_teachers() -> dict[str, tuple[str, dict, int]]:
  """{task/method: (preset, overrides, epochs)} of every benchmarks/<task>/results.json."""
  teachers = {}
  for path in sorted(ROOT.glob("benchmarks/*/results.json")):
    record = json.loads(path.read_text())
    epochs = len(record["histories"]["full_data"][0])
    for method, choice in record["teachers"].items():
      teachers[f"{path.parent.name}/{method}"] = (choice["name"], choice["overrides"],
                                                  choice.get("epochs") or epochs)
  return teachers


def selection_crcs(name: str, overrides: dict, epochs: int) -> list[list[int]]:
  """Per epoch [crc32(kept indices), crc32(their weights)], with fresh and training scores drawn from
  one seeded generator."""
  teacher = selection.make_teacher(name, pool_size=POOL, total_epochs=epochs, **overrides)
  state, rng, crcs = teacher.init(jax.random.key(3)), np.random.default_rng(0), []
  for epoch in range(epochs):
    if teacher.wants_fresh_scores(epoch):
      state = teacher.record(state, np.arange(POOL), rng.normal(size=POOL).astype(np.float32),
                             kind=teacher.score_kind)
    state, plan = teacher.next_epoch(state)
    (indices, mask, weights), = plan.batches(POOL)  # one logical shard: the epoch in one batch
    kept = indices[mask]
    count = len(kept)
    crcs.append([zlib.crc32(kept.tobytes()), zlib.crc32(weights[mask].tobytes())])
    losses = rng.normal(size=count).astype(np.float32)
    # The train step records its losses, and their de-biased form for a teacher that tracks it.
    for kind in dict.fromkeys(("loss", *({"relative_loss"} & set(teacher.score_kinds)))):
      state = teacher.record(state, kept, losses, kind=kind)
  return crcs


def write_golden(rewrite: bool = False) -> None:
  """Adds the teachers of newly recorded benchmarks; the entries already there are kept as they are
  (all rewritten with `rewrite`)."""
  golden = {} if rewrite else json.loads(GOLDEN.read_text())
  golden.update({key: selection_crcs(*args) for key, args in recorded_teachers().items()
                 if key not in golden})
  GOLDEN.write_text(json.dumps(golden, indent=0) + "\n")


def test_every_recorded_teacher_is_pinned():
  assert sorted(recorded_teachers()) == sorted(json.loads(GOLDEN.read_text()))


@pytest.mark.parametrize("key", sorted(json.loads(GOLDEN.read_text())))
def test_recorded_teachers_select_as_when_recorded(key):
  assert selection_crcs(*recorded_teachers()[key]) == json.loads(GOLDEN.read_text())[key]
