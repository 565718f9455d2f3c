"""The llama_sft smoke config end to end: prompt-masked training, eval loss and exact match of greedy
answers in the history; and its configuration errors, raised before anything compiles."""

import numpy as np
import pytest

from attent_jax import train
from attent_jax.configs import llama_sft
from tests.offline_data import smoke_config, write_bpe


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


def test_lora_fine_tuning_of_a_local_hugging_face_checkpoint(data_dirs, tmp_path):
  """The paper's regime in miniature: a tiny llama checkpoint with its own tokenizer.json (a BPE trained
  here), LoRA on q/k/v/o/gate/up/down, bf16 compute over a bf16 frozen base read straight into its FSDP
  shards; the base stays frozen, exact match is reported."""
  import jax  # pylint: disable=g-import-not-at-top
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from attent_jax import experiment, sharding  # pylint: disable=g-import-not-at-top
  from attent_jax.models import llama, pretrained  # pylint: disable=g-import-not-at-top

  checkpoint = write_bpe(tmp_path / "ckpt")
  hf_config = llama.LlamaConfig(vocab_size=320, max_len=256, num_layers=1, num_heads=2, num_kv_heads=1,
                                d_model=32, d_mlp=64)
  _, base = llama.build(hf_config, jax.random.key(3))
  pretrained.save(checkpoint, hf_config, base)
  config = smoke_config(llama_sft, data_dirs)
  config.init.checkpoint = str(checkpoint)  # Its config.json and tokenizer.json replace the defaults.
  config.lora.update(enabled=True, rank=2, alpha=4.0)
  config.model.update(dtype="bfloat16", attention="dot_product")
  config.init.param_dtype = "bfloat16"
  config.train.update(epochs=1, fsdp=True)
  loaded = experiment.build_task(config, sharding.make_mesh()).init_args  # the checkpoint as loaded
  kernel = loaded["block_0"]["mlp"]["up"]["kernel"]
  assert kernel.dtype == jnp.bfloat16 and kernel.sharding.spec[0] == sharding.DATA_AXIS
  result = train.run(config, tmp_path / "run", progress=False)
  assert 0.0 <= result.final["eval/exact_match"] <= 1.0 and np.isfinite(result.final["eval/loss"])
  for trained, original in zip(jax.tree.leaves(result.params["base"]), jax.tree.leaves(base)):
    assert trained.dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(trained, np.float32),
                                  np.asarray(jnp.asarray(original, jnp.bfloat16), np.float32))
