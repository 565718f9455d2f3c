"""config.train.eval_cadence: evaluate every eval_every_epochs epochs of the run ("epochs") or each time
the examples trained pass a multiple of eval_every_epochs pool sizes ("examples")."""

import pytest

from attent_jax import eval_cadence
from attent_jax import experiment
from attent_jax import train
from attent_jax.configs import vit_digits
from tests.offline_data import smoke_config


def _due_epochs(cadence, every, counts, pool):
  done, before = [], 0
  for epoch, count in enumerate(counts):
    if eval_cadence.due(cadence, every, epochs_done=epoch, examples_before=before, examples=count,
                        pool_size=pool, last=epoch + 1 == len(counts)):
      done.append(epoch + 1)
    before += count
  return done


def test_full_data_evaluates_alike_under_both_cadences():
  for every in (1, 2, 3):
    assert (_due_epochs("examples", every, [100] * 7, 100)
            == _due_epochs("epochs", every, [100] * 7, 100)
            == sorted({*range(every, 8, every), 7}))


def test_a_subset_run_evaluates_at_nominal_full_data_epochs():
  counts = [100, 40, 40, 40, 30, 30, 30, 30, 100]  # 440 examples: 4.4 pools of 100.
  assert _due_epochs("examples", 1, counts, 100) == [1, 4, 7, 9]
  assert _due_epochs("examples", 2, counts, 100) == [4, 9]
  assert _due_epochs("epochs", 2, counts, 100) == [2, 4, 6, 8, 9]


def test_an_unknown_cadence_is_named(data_dirs):
  with pytest.raises(ValueError, match="eval_cadence"):
    eval_cadence.due("steps", 1, epochs_done=0, examples_before=0, examples=1, pool_size=1,
                     last=False)
  config = smoke_config(vit_digits, data_dirs, epochs=2, eval_cadence="example")
  with pytest.raises(ValueError, match="eval_cadence"):
    experiment.build(config)


def test_a_subset_run_records_metrics_only_where_due(data_dirs, tmp_path):
  config = smoke_config(vit_digits, data_dirs, epochs=5, eval_cadence="examples")
  config.teacher.name = "attent_simple"  # Ratio 0.2 to 1.0: the middle epochs train a subset.
  result = train.run(config, tmp_path, progress=False)
  counts = [r["examples"] for r in result.history]
  pool = experiment.build(config).train_pool.size
  assert min(counts) < pool
  evaluated = [r["epoch"] for r in result.history if "eval/accuracy" in r]
  assert evaluated == _due_epochs("examples", 1, counts, pool)
  assert len(evaluated) < len(counts)
