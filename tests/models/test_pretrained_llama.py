"""LLaMA / Mistral / Qwen2 loading: tiny HF-format checkpoints written here, checked against a NumPy
forward pass that follows Hugging Face transformers' modeling code (LlamaRMSNorm, rotate_half RoPE,
repeat_kv, SwiGLU, causal softmax)."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from attent_jax import models, sharding
from attent_jax.models import hf_files, llama, pretrained

VOCAB, HIDDEN, LAYERS, POSITIONS = 64, 32, 2, 16
BASE = {"vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": 48,
        "num_hidden_layers": LAYERS, "max_position_embeddings": POSITIONS, "hidden_act": "silu"}
CONFIGS = {  # GQA + untied + linear RoPE scaling | Llama 3 RoPE + tied | MQA with head_dim != D/H |
    # q/k/v bias + tied.
    "llama": dict(BASE, model_type="llama", num_attention_heads=4, num_key_value_heads=2,
                  rms_norm_eps=1e-5, rope_theta=10_000.0, tie_word_embeddings=False,
                  rope_scaling={"rope_type": "linear", "factor": 2.0}),
    # Wavelengths 2pi/inv_freq = 6.3, 63, 628, 6283 against 64/4 and 64/1: kept, blended, divided.
    "llama3": dict(BASE, model_type="llama", num_attention_heads=4, num_key_value_heads=4,
                   rms_norm_eps=1e-5, rope_theta=10_000.0, tie_word_embeddings=True,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
    "mistral": dict(BASE, model_type="mistral", num_attention_heads=4, num_key_value_heads=1,
                    head_dim=16, rms_norm_eps=1e-6, rope_theta=1e6, sliding_window=None,
                    tie_word_embeddings=False),
    "qwen2": dict(BASE, model_type="qwen2", num_attention_heads=4, num_key_value_heads=2,
                  rms_norm_eps=1e-6, rope_theta=1e6, tie_word_embeddings=True,
                  use_sliding_window=False, sliding_window=4),
}


def _dims(hf):
  heads, kv_heads = hf["num_attention_heads"], hf.get("num_key_value_heads", hf["num_attention_heads"])
  return heads, kv_heads, hf.get("head_dim") or hf["hidden_size"] // heads


def _hf_tensors(hf, seed=0):
  """Random weights under HF names and layouts (Linear weights [out, in])."""
  rng = np.random.default_rng(seed)
  normal = lambda *shape: rng.normal(0.0, 0.3, shape).astype(np.float32)
  heads, kv_heads, head_dim = _dims(hf)
  d, f = hf["hidden_size"], hf["intermediate_size"]
  tensors = {"model.embed_tokens.weight": normal(VOCAB, d), "model.norm.weight": 1 + normal(d)}
  if not hf["tie_word_embeddings"]:
    tensors["lm_head.weight"] = normal(VOCAB, d)
  for i in range(LAYERS):
    p = f"model.layers.{i}."
    tensors.update({
        p + "input_layernorm.weight": 1 + normal(d), p + "post_attention_layernorm.weight": 1 + normal(d),
        p + "self_attn.q_proj.weight": normal(heads * head_dim, d),
        p + "self_attn.k_proj.weight": normal(kv_heads * head_dim, d),
        p + "self_attn.v_proj.weight": normal(kv_heads * head_dim, d),
        p + "self_attn.o_proj.weight": normal(d, heads * head_dim),
        p + "mlp.gate_proj.weight": normal(f, d), p + "mlp.up_proj.weight": normal(f, d),
        p + "mlp.down_proj.weight": normal(d, f)})
    if hf["model_type"] == "qwen2":
      tensors.update({p + "self_attn.q_proj.bias": normal(heads * head_dim),
                      p + "self_attn.k_proj.bias": normal(kv_heads * head_dim),
                      p + "self_attn.v_proj.bias": normal(kv_heads * head_dim)})
  return tensors


def _numpy_hf_forward(t, hf, tokens_L):
  """Logits [L, V] in float64, following transformers' LlamaForCausalLM / Mistral / Qwen2 code."""
  t = {name: np.asarray(array, np.float64) for name, array in t.items()}
  heads, kv_heads, head_dim = _dims(hf)
  length, eps = len(tokens_L), hf["rms_norm_eps"]

  def rms_norm(x, weight):  # LlamaRMSNorm
    return weight * (x / np.sqrt((x * x).mean(-1, keepdims=True) + eps))

  def linear(x, name):
    y = x @ t[name + ".weight"].T
    return y + t[name + ".bias"] if name + ".bias" in t else y

  inv_freq = 1.0 / hf["rope_theta"] ** (np.arange(0, head_dim, 2) / head_dim)
  scaling = hf.get("rope_scaling") or {}
  if scaling.get("rope_type") == "linear":  # Positions divided by the factor.
    inv_freq = inv_freq / scaling["factor"]
  if scaling.get("rope_type") == "llama3":  # transformers' _compute_llama3_parameters.
    factor, low, high = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
    old_context = scaling["original_max_position_embeddings"]
    wavelen = 2 * np.pi / inv_freq
    scaled = np.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    smooth = (old_context / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < old_context / high) & ~(wavelen > old_context / low)
    inv_freq = np.where(medium, smoothed, scaled)
  freqs = np.outer(np.arange(length), inv_freq)
  emb = np.concatenate([freqs, freqs], -1)
  cos, sin = np.cos(emb), np.sin(emb)

  def rotate_half(x):
    x1, x2 = x[..., : head_dim // 2], x[..., head_dim // 2:]
    return np.concatenate([-x2, x1], -1)

  def repeat_kv(x):  # [kv_heads, L, K] -> [heads, L, K]
    n_rep = heads // kv_heads
    return np.broadcast_to(x[:, None], (kv_heads, n_rep) + x.shape[1:]).reshape(heads, *x.shape[1:])

  silu = lambda x: x / (1 + np.exp(-x))
  x = t["model.embed_tokens.weight"][tokens_L]
  for i in range(LAYERS):
    p = f"model.layers.{i}."
    h = rms_norm(x, t[p + "input_layernorm.weight"])
    split = lambda y, n: y.reshape(length, n, head_dim).transpose(1, 0, 2)
    q = split(linear(h, p + "self_attn.q_proj"), heads)
    k = split(linear(h, p + "self_attn.k_proj"), kv_heads)
    v = split(linear(h, p + "self_attn.v_proj"), kv_heads)
    q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
    k, v = repeat_kv(k), repeat_kv(v)
    scores = q @ k.transpose(0, 2, 1) / np.sqrt(head_dim)
    scores = np.where(np.tril(np.ones((length, length), bool)), scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    attended = (weights @ v).transpose(1, 0, 2).reshape(length, heads * head_dim)
    x = x + linear(attended, p + "self_attn.o_proj")
    h = rms_norm(x, t[p + "post_attention_layernorm.weight"])
    x = x + linear(silu(linear(h, p + "mlp.gate_proj")) * linear(h, p + "mlp.up_proj"),
                   p + "mlp.down_proj")
  x = rms_norm(x, t["model.norm.weight"])
  return x @ t["lm_head.weight" if "lm_head.weight" in t else "model.embed_tokens.weight"].T


def _write(directory, hf, tensors, shards=1):
  hf_files.write(directory, tensors, shards)
  (directory / "config.json").write_text(json.dumps(hf))
  return directory


@pytest.mark.parametrize("model_type", sorted(CONFIGS))
def test_loaded_model_matches_numpy_hf_reference(tmp_path, model_type):
  hf = CONFIGS[model_type]
  tensors = _hf_tensors(hf)
  if model_type == "qwen2":  # Stored as bfloat16, as many real checkpoints are.
    tensors = {name: array.astype(jnp.bfloat16) for name, array in tensors.items()}
  shards = 2 if model_type == "llama" else 1  # A sharded index with two shard files.
  config, params = pretrained.load(_write(tmp_path, hf, tensors, shards))
  assert isinstance(config, llama.LlamaConfig) and config.max_len == POSITIONS
  assert config.qkv_bias == (model_type == "qwen2")
  assert config.tie_embeddings == (model_type in ("qwen2", "llama3"))
  if shards == 2:
    assert len(list(tmp_path.glob("model-0000?-of-00002.safetensors"))) == 2
  tokens_BL = np.random.default_rng(1).integers(0, VOCAB, (2, 13))
  logits_BLV = jax.jit(models.make_apply_fn(config))(params, {"inputs": jnp.asarray(tokens_BL)})
  for b in range(2):
    np.testing.assert_allclose(logits_BLV[b], _numpy_hf_forward(tensors, hf, tokens_BL[b]),
                               rtol=1e-4, atol=1e-4)


def test_bad_checkpoints_are_clear_errors(tmp_path):
  hf, tensors = CONFIGS["llama"], _hf_tensors(CONFIGS["llama"])
  no_field = {k: v for k, v in hf.items() if k != "intermediate_size"}
  with pytest.raises(ValueError, match=r"config.json: missing config field\(s\) \['intermediate_size'\]"):
    pretrained.load(_write(tmp_path / "field", no_field, tensors))
  missing = {k: v for k, v in tensors.items() if k != "model.layers.1.mlp.up_proj.weight"}
  with pytest.raises(ValueError, match=r"index.json: missing tensor 'model.layers.1.mlp.up_proj"
                                       r".weight' \(expected shape \(48, 32\)\)"):
    pretrained.load(_write(tmp_path / "tensor", hf, missing, shards=2))
  misshaped = dict(tensors, **{"model.layers.0.self_attn.k_proj.weight": np.zeros((32, 32), np.float32)})
  with pytest.raises(ValueError, match=r"model.safetensors: tensor 'model.layers.0.self_attn.k_proj"
                                       r".weight' has shape \(32, 32\), expected \(16, 32\)"):
    pretrained.load(_write(tmp_path / "shape", hf, misshaped))
  yarn = dict(hf, rope_scaling={"rope_type": "yarn", "factor": 8.0})
  with pytest.raises(ValueError, match="rope_scaling type 'yarn' is not supported"):
    pretrained.load(_write(tmp_path / "rope", yarn, tensors))
  llama3 = dict(hf, rope_scaling={"rope_type": "llama3", "factor": 8.0})
  with pytest.raises(ValueError, match=r"'llama3' needs field\(s\) \['low_freq_factor', "):
    pretrained.load(_write(tmp_path / "rope3", llama3, tensors))
  mistral = CONFIGS["mistral"]
  windowed = _write(tmp_path / "window", dict(mistral, sliding_window=8), _hf_tensors(mistral))
  with pytest.raises(ValueError, match="sliding_window=8 is shorter than max_len=16"):
    pretrained.load(windowed)
  assert pretrained.load(windowed, max_len=8)[0].max_len == 8  # Within the window: fine.
  with pytest.raises(ValueError, match="model_type 'gemma' is not supported"):
    pretrained.load(_write(tmp_path / "gemma", dict(hf, model_type="gemma"), tensors))
  (tmp_path / "empty").mkdir()
  with pytest.raises(FileNotFoundError, match="config.json"):
    pretrained.load(tmp_path / "empty")
  (tmp_path / "empty" / "config.json").write_text(json.dumps(hf))
  with pytest.raises(FileNotFoundError, match="model.safetensors or model.safetensors.index.json"):
    pretrained.load(tmp_path / "empty")


def test_sharded_load_equals_unsharded_and_save_round_trips(tmp_path):
  hf = CONFIGS["llama"]
  directory = _write(tmp_path / "ckpt", hf, _hf_tensors(hf))
  config, plain = pretrained.load(directory)
  mesh = sharding.make_mesh(8)
  _, sharded = pretrained.load(directory, mesh=mesh, rules=sharding.FSDP_RULES)
  q_kernel = sharded["block_0"]["attn"]["q"]["kernel"]
  assert q_kernel.sharding.spec == P("data") and len(q_kernel.addressable_shards) == 8
  assert q_kernel.addressable_shards[0].data.shape == (4, 32)
  assert sharded["embed"]["embedding"].sharding.spec == P("data")
  assert sharded["ln_f"]["scale"].sharding.spec == P()
  jax.tree.map(np.testing.assert_array_equal, sharded, plain)
  _, bf16 = pretrained.load(directory, param_dtype="bfloat16")
  assert bf16["head"]["kernel"].dtype == jnp.bfloat16

  pretrained.save(tmp_path / "saved", config, plain, shards=3)
  again_config, again = pretrained.load(tmp_path / "saved")
  assert again_config == config
  jax.tree.map(np.testing.assert_array_equal, again, plain)
  qwen = llama.LlamaConfig(vocab_size=VOCAB, max_len=8, num_layers=1, num_heads=2, d_model=16,
                           d_mlp=16, qkv_bias=True, tie_embeddings=True)
  _, qwen_params = llama.build(qwen, jax.random.key(0))
  pretrained.save(tmp_path / "qwen", qwen, qwen_params)
  assert json.loads((tmp_path / "qwen" / "config.json").read_text())["model_type"] == "qwen2"
  jax.tree.map(np.testing.assert_array_equal, pretrained.load(tmp_path / "qwen")[1], qwen_params)
  with pytest.raises(ValueError, match="model_type 'llama' has no q/k/v biases"):
    pretrained.save(tmp_path / "bad", qwen, qwen_params, model_type="llama")
