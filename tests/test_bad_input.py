"""Bad input gets a clear error before the train step is ever compiled: one test per case.

Each case goes through `experiment.build` (or the public function a user calls), which compiles nothing;
the assertion checks the message names what is wrong.
"""

import json
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from attent_jax import experiment, selection, train
from attent_jax.configs import gpt_pycode, vit_digits
from attent_jax.data.builders import fashion_mnist_local, python_code
from attent_jax.models import gpt, pretrained
from tests.offline_data import write_fashion_mnist, write_idx
from tests.offline_data import smoke_config

ROOT = pathlib.Path(__file__).parents[1]


@pytest.fixture
def digits(data_dirs):
  return smoke_config(vit_digits, data_dirs)


def build_fails(config, match, error=ValueError):
  with pytest.raises(error, match=match):
    experiment.build(config)


def test_ratio_above_one():
  with pytest.raises(ValueError, match="ratio_start"):
    selection.make_teacher("attent_complex", pool_size=100, total_epochs=10, ratio_start=1.5)


def test_ratio_zero():
  with pytest.raises(ValueError, match="ratio_start"):
    selection.make_teacher("attent_complex", pool_size=100, total_epochs=10, ratio_start=0.0)


def test_k_larger_than_the_pool():
  with pytest.raises(ValueError, match="k"):
    selection.select(jnp.zeros(10), 11)


def test_batch_size_not_a_multiple_of_the_logical_shards(digits):
  digits.train.batch_size = 36  # 8 logical shards (and 8 fake devices)
  build_fails(digits, "must be a multiple of config.teacher.logical_shards=8")


def test_logical_shards_must_be_positive(digits):
  digits.teacher.logical_shards = 0
  build_fails(digits, "logical_shards must be a positive integer")


def test_group_teachers_need_one_logical_shard(digits):
  digits.teacher.name = "grant_b"
  build_fails(digits, "set config.teacher.logical_shards=1")


def test_unknown_teacher(digits):
  digits.teacher.name = "attent_compelx"
  build_fails(digits, "attent_compelx")


def test_unknown_selection_method(digits):
  digits.teacher.overrides = {"method": "greedy"}
  build_fails(digits, "method")


def test_unknown_schedule_name():
  with pytest.raises(ValueError, match="kind"):
    selection.ratio_schedule("exponential", start=0.2, total_steps=10)
  with pytest.raises(ValueError, match="kind"):
    selection.interval_schedule("sometimes", total_steps=10)


def test_unknown_teacher_override(digits):
  digits.teacher.overrides = {"ratio_strat": 0.3}
  build_fails(digits, "ratio_strat")


def test_missing_dataset_directory(digits, tmp_path):
  digits.data.update(name="fashion_mnist_local", source_dir=str(tmp_path / "absent"))
  digits.model.update(image_size=28, patch_size=7)
  build_fails(digits, "does not exist", FileNotFoundError)


def test_truncated_idx_file(tmp_path):
  write_fashion_mnist(tmp_path, compress=False)
  write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((12, 28, 28)), compress=False, truncate=100)
  with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.*truncated"):
    fashion_mnist_local.read_split(tmp_path, "test")


def test_empty_text_corpus(data_dirs, tmp_path):
  (tmp_path / "code").mkdir()
  (tmp_path / "code" / "empty.py").write_text("\n\n")
  config = smoke_config(gpt_pycode, data_dirs)
  config.data.source_dir = str(tmp_path / "code")
  config.data.data_dir = str(tmp_path / "tfds")
  build_fails(config, "empty|shorter than one sequence|no .py")


def test_non_utf8_text_corpus(tmp_path):
  (tmp_path / "a.py").write_bytes(b"s = '\xff'\n")
  with pytest.raises(ValueError, match="a.py is not valid UTF-8"):
    for split in python_code.SPLITS:
      python_code.split_bytes(tmp_path, split)


def test_sequence_longer_than_the_model(data_dirs):
  config = smoke_config(gpt_pycode, data_dirs)
  config.data.seq_len = 64  # The smoke model's max_len is 32.
  build_fails(config, "exceeds the model's max_len=32")


def test_config_key_that_does_not_exist(tmp_path):
  result = subprocess.run(
      [sys.executable, "-m", "experiments.train", "--config=attent_jax/configs/vit_digits.py:smoke",
       f"--workdir={tmp_path}", "--config.train.epohcs=3"],
      cwd=ROOT, capture_output=True, text=True, check=False)
  assert result.returncode != 0 and "epohcs" in result.stderr


def test_unknown_model_field(digits):
  digits.model.d_modell = 32
  build_fails(digits, "d_modell")


def test_heads_not_dividing_width(digits):
  digits.model.num_heads = 3
  build_fails(digits, "d_model")


def test_unknown_model_kind(digits):
  digits.model.kind = "resnet"
  build_fails(digits, "config.model.kind")


def test_non_positive_learning_rate_and_epochs(digits):
  digits.train.learning_rate = 0.0
  build_fails(digits, "learning_rate")
  digits.train.learning_rate = 1e-3
  digits.train.epochs = 0
  build_fails(digits, "epochs")


def test_batch_larger_than_the_pool(digits):
  digits.train.batch_size = 512
  build_fails(digits, "exceeds the pool")


def test_unknown_split(digits):
  digits.data.split = "training"
  build_fails(digits, "no split 'training'")


def test_model_that_cannot_train_on_the_data(digits, data_dirs):
  digits.model = dict(gpt_pycode.get_config("smoke").model)
  build_fails(digits, "holds image examples")


def _tiny_gpt2(directory):
  config = gpt.GPTConfig(vocab_size=20, max_len=8, num_layers=1, num_heads=2, d_model=8, d_mlp=16)
  _, params = gpt.build(config, jax.random.key(0))
  pretrained.save_gpt2(directory, config, params)


def test_pretrained_directory_with_a_missing_tensor(tmp_path):
  from safetensors.numpy import load_file, save_file  # pylint: disable=g-import-not-at-top
  _tiny_gpt2(tmp_path)
  tensors = load_file(tmp_path / "model.safetensors")
  name = next(k for k in tensors if "c_attn.weight" in k)
  del tensors[name]
  save_file(tensors, tmp_path / "model.safetensors")
  with pytest.raises(ValueError, match="c_attn.weight"):
    pretrained.load_gpt2(tmp_path)


def test_pretrained_directory_with_a_misshaped_tensor(tmp_path):
  from safetensors.numpy import load_file, save_file  # pylint: disable=g-import-not-at-top
  _tiny_gpt2(tmp_path)
  tensors = load_file(tmp_path / "model.safetensors")
  name = next(k for k in tensors if k.endswith("wte.weight"))
  tensors[name] = tensors[name][:, :4].copy()
  save_file(tensors, tmp_path / "model.safetensors")
  with pytest.raises(ValueError, match="wte.weight"):
    pretrained.load_gpt2(tmp_path)


def test_init_checkpoint_that_is_neither_kind(data_dirs, tmp_path):
  config = smoke_config(gpt_pycode, data_dirs)
  config.init.checkpoint = str(tmp_path)
  build_fails(config, "neither a Hugging Face checkpoint directory", FileNotFoundError)


def test_workdir_holding_a_checkpoint_of_a_different_model(digits, tmp_path):
  digits.train.epochs = 1
  train.run(digits, tmp_path, progress=False)
  digits.model.d_model = 24
  digits.model.num_heads = 2
  with pytest.raises(ValueError, match="different model"):
    train.run(digits, tmp_path, progress=False)
  assert json.loads((tmp_path / "summary.json").read_text())["history"]
