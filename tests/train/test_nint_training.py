"""NINT through the training loop on the MAE, whose model returns a dict of outputs."""

import numpy as np

from attent_jax import train
from attent_jax.configs import mae_fashion_mnist
from tests.offline_data import smoke_config


def test_nint_scores_the_mae_pool_and_trains(data_dirs, tmp_path):
  config = smoke_config(mae_fashion_mnist, data_dirs)
  config.teacher.name = "nint"
  config.teacher.overrides = {"ratio_start": 0.5}
  result = train.run(config, tmp_path, progress=False)
  pool = result.history[0]["examples"]
  assert [r["examples"] for r in result.history] == [pool, pool // 2, pool // 2]
  assert result.timers["score"] > 0 and np.isfinite(result.final["eval/loss"])
