"""Every config's :smoke variant trains, evaluates and checkpoints end to end; metrics files are valid."""

import json

import numpy as np
import pytest

from attent_jax import metrics, train
from attent_jax.configs import gpt_lora, gpt_pycode, mae_fashion_mnist, vit_digits, vit_fashion_mnist
from tests.offline_data import smoke_config


@pytest.mark.parametrize("module", [vit_digits, vit_fashion_mnist, mae_fashion_mnist],
                         ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_image_smoke_configs(module, data_dirs, tmp_path):
  result = train.run(smoke_config(module, data_dirs), tmp_path, progress=False)
  final = result.final
  assert final["epoch"] == 3 and np.isfinite(final["eval/loss"])
  if module is mae_fashion_mnist:
    assert 0.0 <= final["eval/probe_accuracy"] <= 1.0
  else:
    assert 0.0 <= final["eval/accuracy"] <= 1.0
  assert (tmp_path / "checkpoints").is_dir() and (tmp_path / "final_params").is_dir()
  records = metrics.read_metrics(tmp_path)
  assert any("train/loss" in r for r in records) and any("eval/loss" in r for r in records)
  assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
  summary = json.loads((tmp_path / "summary.json").read_text())
  assert summary["history"][-1]["time/total"] > 0


def test_gpt_pretraining_then_lora_fine_tuning(data_dirs, tmp_path):
  pretrained = train.run(smoke_config(gpt_pycode, data_dirs), tmp_path / "gpt", progress=False)
  assert np.isfinite(pretrained.final["eval/perplexity"])
  config = smoke_config(gpt_lora, data_dirs)
  config.init.checkpoint = str(tmp_path / "gpt")
  tuned = train.run(config, tmp_path / "lora", progress=False)
  assert np.isfinite(tuned.final["eval/loss"])
  # Only adapters trained: the base is bit-identical to the pre-trained params.
  for a, b in zip(jax_leaves(tuned.params["base"]), jax_leaves(pretrained.params)):
    np.testing.assert_array_equal(a, b)


def test_lora_smoke_config_from_random_base(data_dirs, tmp_path):
  result = train.run(smoke_config(gpt_lora, data_dirs), tmp_path, progress=False)
  assert np.isfinite(result.final["eval/loss"])


def jax_leaves(tree):
  import jax  # pylint: disable=g-import-not-at-top
  return [np.asarray(leaf) for leaf in jax.tree.leaves(tree)]
