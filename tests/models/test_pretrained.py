"""GPT-2 loading: a tiny HF-format checkpoint written here, checked against a pure-numpy GPT-2."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec
from safetensors.numpy import load_file, save_file

from attent_jax import sharding
from attent_jax.models import gpt, pretrained

N_LAYER, N_EMBD, N_HEAD, VOCAB, N_POSITIONS = 2, 32, 4, 50, 16
HF_CONFIG = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": VOCAB,
             "n_positions": N_POSITIONS, "n_ctx": N_POSITIONS, "n_embd": N_EMBD,
             "n_layer": N_LAYER, "n_head": N_HEAD, "n_inner": None,
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5}


def _hf_tensors(seed: int = 0) -> dict[str, np.ndarray]:
  """Random GPT-2 weights under HF names, Conv1D layout [in, out], plus the causal-mask buffers."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.normal(0.0, 0.2, shape).astype(np.float32)
  d, f = N_EMBD, 4 * N_EMBD
  tensors = {"wte.weight": normal(VOCAB, d), "wpe.weight": normal(N_POSITIONS, d),
             "ln_f.weight": 1.0 + normal(d), "ln_f.bias": normal(d)}
  for i in range(N_LAYER):
    h = f"h.{i}."
    tensors.update({
        h + "ln_1.weight": 1.0 + normal(d), h + "ln_1.bias": normal(d),
        h + "attn.c_attn.weight": normal(d, 3 * d), h + "attn.c_attn.bias": normal(3 * d),
        h + "attn.c_proj.weight": normal(d, d), h + "attn.c_proj.bias": normal(d),
        h + "ln_2.weight": 1.0 + normal(d), h + "ln_2.bias": normal(d),
        h + "mlp.c_fc.weight": normal(d, f), h + "mlp.c_fc.bias": normal(f),
        h + "mlp.c_proj.weight": normal(f, d), h + "mlp.c_proj.bias": normal(d),
        h + "attn.bias": np.tril(np.ones((N_POSITIONS, N_POSITIONS), np.float32))[None, None]})
  return tensors


def _write(directory, tensors, config=HF_CONFIG):
  directory.mkdir(parents=True, exist_ok=True)
  (directory / "config.json").write_text(json.dumps(config))
  save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})
  return directory


def _numpy_gpt2(t: dict[str, np.ndarray], tokens_L: np.ndarray) -> np.ndarray:
  """An independent float64 GPT-2 forward pass (HF semantics) -> logits [L, V]."""
  t = {k: v.astype(np.float64) for k, v in t.items()}
  length, head = len(tokens_L), N_EMBD // N_HEAD

  def layer_norm(x, name):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * t[name + ".weight"] + t[name + ".bias"]

  def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

  x = t["wte.weight"][tokens_L] + t["wpe.weight"][:length]
  for i in range(N_LAYER):
    h = f"h.{i}."
    qkv = layer_norm(x, h + "ln_1") @ t[h + "attn.c_attn.weight"] + t[h + "attn.c_attn.bias"]
    q, k, v = (a.reshape(length, N_HEAD, head).transpose(1, 0, 2) for a in np.split(qkv, 3, -1))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(head)
    scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = (weights @ v).transpose(1, 0, 2).reshape(length, N_EMBD)
    x = x + attended @ t[h + "attn.c_proj.weight"] + t[h + "attn.c_proj.bias"]
    hidden = gelu_new(layer_norm(x, h + "ln_2") @ t[h + "mlp.c_fc.weight"] + t[h + "mlp.c_fc.bias"])
    x = x + hidden @ t[h + "mlp.c_proj.weight"] + t[h + "mlp.c_proj.bias"]
  return layer_norm(x, "ln_f") @ t["wte.weight"].T


def test_loaded_model_matches_numpy_gpt2(tmp_path):
  tensors = _hf_tensors()
  config, params = pretrained.load_gpt2(_write(tmp_path / "gpt2", tensors))
  assert (config.num_layers, config.d_model, config.num_heads, config.d_mlp) == (2, 32, 4, 128)
  assert config.tie_embeddings and config.positions == "learned" and config.max_len == 16
  tokens_BL = np.random.default_rng(1).integers(0, VOCAB, (2, 11))
  logits_BLV = jax.jit(gpt.make_apply_fn(config))(params, {"inputs": jnp.asarray(tokens_BL)})
  for b in range(2):
    np.testing.assert_allclose(logits_BLV[b], _numpy_gpt2(tensors, tokens_BL[b]),
                               rtol=1e-4, atol=1e-4)


def test_prefixed_names_untied_head_and_save_round_trip(tmp_path):
  tensors = _hf_tensors()
  _, plain = pretrained.load_gpt2(_write(tmp_path / "plain", tensors))
  prefixed = {"transformer." + k: v for k, v in tensors.items()}
  prefixed["lm_head.weight"] = tensors["wte.weight"]  # Tied: present or not, it is ignored.
  config, params = pretrained.load_gpt2(_write(tmp_path / "prefixed", prefixed),
                                        dtype="bfloat16")
  assert config.dtype == "bfloat16"
  jax.tree.map(np.testing.assert_array_equal, params, plain)

  untied = dict(tensors, **{"lm_head.weight": np.random.default_rng(3).normal(
      size=(VOCAB, N_EMBD)).astype(np.float32)})
  untied_config, untied_params = pretrained.load_gpt2(
      _write(tmp_path / "untied", untied, dict(HF_CONFIG, tie_word_embeddings=False)))
  assert not untied_config.tie_embeddings
  np.testing.assert_array_equal(untied_params["head"]["kernel"], untied["lm_head.weight"].T)

  pretrained.save_gpt2(tmp_path / "saved", untied_config, untied_params)
  saved = load_file(tmp_path / "saved" / "model.safetensors")
  assert set(saved) == {k for k in untied if not k.endswith(".attn.bias")}
  for name, array in saved.items():
    np.testing.assert_array_equal(array, untied[name], err_msg=name)
  again_config, _ = pretrained.load_gpt2(tmp_path / "saved")
  assert again_config == untied_config


def test_missing_or_misshaped_tensor_and_bad_config_are_clear_errors(tmp_path):
  tensors = _hf_tensors()
  missing = {k: v for k, v in tensors.items() if k != "h.1.mlp.c_fc.weight"}
  with pytest.raises(ValueError, match=r"missing tensor 'h.1.mlp.c_fc.weight' .*\(32, 128\)"):
    pretrained.load_gpt2(_write(tmp_path / "missing", missing))
  misshaped = dict(tensors, **{"h.0.attn.c_attn.weight": np.zeros((32, 64), np.float32)})
  with pytest.raises(ValueError, match=r"'h.0.attn.c_attn.weight' has shape \(32, 64\), expected "
                                       r"\(32, 96\)"):
    pretrained.load_gpt2(_write(tmp_path / "misshaped", misshaped))
  with pytest.raises(ValueError, match="model_type 'llama'"):
    pretrained.load_gpt2(_write(tmp_path / "llama", tensors, dict(HF_CONFIG, model_type="llama")))
  with pytest.raises(ValueError, match="activation_function 'relu'"):
    pretrained.load_gpt2(_write(tmp_path / "relu", tensors,
                                dict(HF_CONFIG, activation_function="relu")))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="config.json"):
    pretrained.load_gpt2(tmp_path / "empty")
  (tmp_path / "no_weights").mkdir()
  (tmp_path / "no_weights" / "config.json").write_text(json.dumps(HF_CONFIG))
  with pytest.raises(FileNotFoundError, match="model.safetensors"):
    pretrained.load_gpt2(tmp_path / "no_weights")


def test_generic_load_and_save_dispatch_gpt2(tmp_path):
  directory = _write(tmp_path / "gpt2", _hf_tensors())
  config, params = pretrained.load(directory, dtype="bfloat16")
  expected_config, expected = pretrained.load_gpt2(directory, dtype="bfloat16")
  assert config == expected_config
  jax.tree.map(np.testing.assert_array_equal, params, expected)
  _, placed = pretrained.load(directory, mesh=sharding.make_mesh(8), rules=sharding.FSDP_RULES)
  assert placed["block_0"]["attn"]["q"]["kernel"].sharding.spec == PartitionSpec("data")
  jax.tree.map(np.testing.assert_array_equal, placed, expected)
  pretrained.save(tmp_path / "saved", config, params)
  assert pretrained.load(tmp_path / "saved")[0] == dataclasses.replace(config, dtype="float32")
  with pytest.raises(ValueError, match="param_dtype must be 'float32' for GPT-2"):
    pretrained.load(directory, param_dtype="bfloat16")
