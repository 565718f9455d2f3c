"""The llama_sft smoke config end to end: prompt-masked training, eval loss and exact match of greedy
answers in the history; and its configuration errors, raised before anything compiles."""

import numpy as np
import pytest

from attent_jax import train
from attent_jax.configs import llama_sft
from tests.offline_data import smoke_config


def test_llama_sft_smoke_config(data_dirs, tmp_path):
  result = train.run(smoke_config(llama_sft, data_dirs), tmp_path, progress=False)
  final = result.final
  assert final["epoch"] == 2 and np.isfinite(final["eval/loss"])
  assert 0.0 <= final["eval/exact_match"] <= 1.0
  assert (tmp_path / "final_params").is_dir()


def test_llama_sft_smoke_config_with_lora(data_dirs, tmp_path):
  config = smoke_config(llama_sft, data_dirs)
  config.lora.update(enabled=True, rank=2, alpha=2.0)
  config.train.epochs = 1
  result = train.run(config, tmp_path, progress=False)
  assert 0.0 <= result.final["eval/exact_match"] <= 1.0


@pytest.mark.parametrize("overrides, message", [
    ({"eval.max_new_tokens": 0}, "config.eval.max_new_tokens must be positive"),
    ({"eval.max_new_tokens": 400}, "exceeds the model's max_len=256"),
    ({"data.overlong": "wrap"}, "config.data.overlong must be one of"),
    ({"model.vocab_size": 100}, "token id .* the model's vocab_size is 100"),
])
def test_llama_sft_config_errors(data_dirs, tmp_path, overrides, message):
  config = smoke_config(llama_sft, data_dirs)
  for dotted, value in overrides.items():
    group, name = dotted.split(".")
    config[group][name] = value
  with pytest.raises(ValueError, match=message):
    train.run(config, tmp_path, progress=False)
