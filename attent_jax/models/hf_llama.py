"""Hugging Face LLaMA / Mistral / Qwen2 checkpoints <-> `llama.LlamaConfig` and its parameter tree.

`config_from_hf` maps a config.json dict to a LlamaConfig (or a ValueError naming the field or the
unsupported feature); `tensor_layout` says which HF tensor fills each parameter; `config_to_hf`
writes the inverse. HF Linear weights are [out, in]; our Dense kernels are [in, out] (transposed).
Pure Python, no array data.
"""

from __future__ import annotations

from typing import Any

from attent_jax.models.llama import LlamaConfig

MODEL_TYPES = ("llama", "mistral", "qwen2")
REQUIRED_FIELDS = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                   "num_attention_heads", "max_position_embeddings")
ROPE_TYPES = ("default", "linear", "llama3")
LLAMA3_FIELDS = ("low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
ParamPath = tuple[str, ...]


def _rope(hf: dict[str, Any], where: str) -> dict[str, Any]:
  """LlamaConfig's rope_* fields from `rope_theta` + `rope_scaling` or the newer `rope_parameters`."""
  scaling = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
  rope = {"rope_theta": float(hf.get("rope_theta", scaling.get("rope_theta", 10_000.0)))}
  if scaling.get("partial_rotary_factor", hf.get("partial_rotary_factor", 1.0)) != 1.0:
    raise ValueError(f"{where}: partial_rotary_factor != 1 is not supported")
  rope_type = scaling.get("rope_type", scaling.get("type", "default"))
  if rope_type not in ROPE_TYPES:
    raise ValueError(f"{where}: rope_scaling type {rope_type!r} is not supported; expected one of "
                     f"{ROPE_TYPES} or no rope_scaling")
  if rope_type == "default":
    return rope
  needed = ("factor",) + (LLAMA3_FIELDS if rope_type == "llama3" else ())
  missing = [name for name in needed if name not in scaling]
  if missing:
    raise ValueError(f"{where}: rope_scaling type {rope_type!r} needs field(s) {missing}")
  rope.update(rope_scaling=rope_type, rope_factor=float(scaling["factor"]))
  if rope_type == "llama3":
    rope.update(rope_low_freq_factor=float(scaling["low_freq_factor"]),
                rope_high_freq_factor=float(scaling["high_freq_factor"]),
                rope_original_max_len=int(scaling["original_max_position_embeddings"]))
  return rope


def config_from_hf(hf: dict[str, Any], where: str, *, dtype: str = "float32",
                   max_len: int | None = None) -> LlamaConfig:
  """The LlamaConfig of a HF config.json dict (`where` names the file in errors).

  max_len: the longest sequence the model will see (default max_position_embeddings; it may not
  exceed it). A Mistral/Qwen2 sliding window shorter than max_len is an error (this model attends
  to the whole causal context), as are biases other than Qwen2's q/k/v and a non-SiLU activation.
  `attention` and `remat` keep their defaults: set them with dataclasses.replace.
  """
  model_type = hf.get("model_type")
  if model_type not in MODEL_TYPES:
    raise ValueError(f"{where}: model_type {model_type!r} is not a LLaMA-family model; expected one "
                     f"of {MODEL_TYPES}")
  missing = [name for name in REQUIRED_FIELDS if hf.get(name) is None]
  if missing:
    raise ValueError(f"{where}: missing config field(s) {missing} for model_type {model_type!r}")
  if hf.get("hidden_act", "silu") != "silu":
    raise ValueError(f"{where}: hidden_act {hf['hidden_act']!r} is not supported; expected 'silu'")
  if hf.get("attention_bias", False) or hf.get("mlp_bias", False):
    raise ValueError(f"{where}: attention_bias/mlp_bias=true is not supported (only Qwen2's q/k/v "
                     "biases are)")
  positions = hf["max_position_embeddings"]
  max_len = positions if max_len is None else max_len
  if not 0 < max_len <= positions:
    raise ValueError(f"{where}: max_len={max_len} must be in [1, max_position_embeddings="
                     f"{positions}]")
  # HF defaults: Mistral's window is 4096 unless set (null: none); Qwen2 uses its window only with
  # use_sliding_window=true; LLaMA has none.
  window = {"mistral": hf.get("sliding_window", 4096),
            "qwen2": hf.get("sliding_window") if hf.get("use_sliding_window", False) else None,
            "llama": None}[model_type]
  if window is not None and window < max_len:
    raise ValueError(f"{where}: sliding_window={window} is shorter than max_len={max_len}, and "
                     "sliding-window attention is not implemented; load with max_len <= "
                     f"{window}")
  heads = hf["num_attention_heads"]
  return LlamaConfig(
      vocab_size=hf["vocab_size"], max_len=max_len, num_layers=hf["num_hidden_layers"],
      num_heads=heads, num_kv_heads=hf.get("num_key_value_heads") or heads,
      d_model=hf["hidden_size"], d_mlp=hf["intermediate_size"], head_dim=hf.get("head_dim"),
      **_rope(hf, where), rms_norm_eps=hf.get("rms_norm_eps", 1e-6),
      tie_embeddings=bool(hf.get("tie_word_embeddings", False)), qkv_bias=model_type == "qwen2",
      dtype=dtype)


def config_to_hf(config: LlamaConfig, model_type: str) -> dict[str, Any]:
  """The config.json dict of `config` as `model_type`; ValueError if that family cannot hold it."""
  if model_type not in MODEL_TYPES:
    raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}")
  if config.qkv_bias != (model_type == "qwen2"):
    raise ValueError(f"model_type {model_type!r} {'needs' if model_type == 'qwen2' else 'has no'} "
                     f"q/k/v biases, but qkv_bias={config.qkv_bias}")
  architecture = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM",
                  "qwen2": "Qwen2ForCausalLM"}[model_type]
  hf = {"model_type": model_type, "architectures": [architecture],
        "vocab_size": config.vocab_size, "hidden_size": config.d_model,
        "intermediate_size": config.d_mlp, "num_hidden_layers": config.num_layers,
        "num_attention_heads": config.num_heads, "num_key_value_heads": config.num_kv_heads,
        "head_dim": config.head_dim, "max_position_embeddings": config.max_len,
        "hidden_act": "silu", "rms_norm_eps": config.rms_norm_eps, "rope_theta": config.rope_theta,
        "rope_scaling": None, "tie_word_embeddings": config.tie_embeddings,
        "torch_dtype": "float32"}
  if config.rope_scaling != "none":
    hf["rope_scaling"] = {"rope_type": config.rope_scaling, "factor": config.rope_factor}
    if config.rope_scaling == "llama3":
      hf["rope_scaling"].update(low_freq_factor=config.rope_low_freq_factor,
                                high_freq_factor=config.rope_high_freq_factor,
                                original_max_position_embeddings=config.rope_original_max_len)
  if model_type == "llama":
    hf.update(attention_bias=False, mlp_bias=False)
  else:
    hf.update(sliding_window=None, use_sliding_window=False)
  return hf


def tensor_layout(config: LlamaConfig) -> dict[ParamPath, tuple[str, bool]]:
  """Parameter path -> (HF tensor name, transposed?) for every parameter of `config`'s model."""
  layout: dict[ParamPath, tuple[str, bool]] = {
      ("embed", "embedding"): ("model.embed_tokens.weight", False),
      ("ln_f", "scale"): ("model.norm.weight", False)}
  if not config.tie_embeddings:
    layout[("head", "kernel")] = ("lm_head.weight", True)
  for i in range(config.num_layers):
    block, hf = f"block_{i}", f"model.layers.{i}."
    layout[(block, "ln1", "scale")] = (hf + "input_layernorm.weight", False)
    layout[(block, "ln2", "scale")] = (hf + "post_attention_layernorm.weight", False)
    for name in ("q", "k", "v", "o"):
      layout[(block, "attn", name, "kernel")] = (hf + f"self_attn.{name}_proj.weight", True)
      if config.qkv_bias and name != "o":
        layout[(block, "attn", name, "bias")] = (hf + f"self_attn.{name}_proj.bias", False)
    for name in ("gate", "up", "down"):
      layout[(block, "mlp", name, "kernel")] = (hf + f"mlp.{name}_proj.weight", True)
  return layout


def param_shapes(config: LlamaConfig) -> dict[ParamPath, tuple[int, ...]]:
  """Parameter path -> shape, for the same paths as `tensor_layout`."""
  d, f, v = config.d_model, config.d_mlp, config.vocab_size
  q, kv = config.num_heads * config.head_dim, config.num_kv_heads * config.head_dim
  per_block = {("ln1", "scale"): (d,), ("ln2", "scale"): (d,),
               ("attn", "q", "kernel"): (d, q), ("attn", "k", "kernel"): (d, kv),
               ("attn", "v", "kernel"): (d, kv), ("attn", "o", "kernel"): (q, d),
               ("attn", "q", "bias"): (q,), ("attn", "k", "bias"): (kv,), ("attn", "v", "bias"): (kv,),
               ("mlp", "gate", "kernel"): (d, f), ("mlp", "up", "kernel"): (d, f),
               ("mlp", "down", "kernel"): (f, d)}
  shapes = {}
  for path in tensor_layout(config):
    if path[0].startswith("block_"):
      shapes[path] = per_block[path[1:]]
    else:
      shapes[path] = {"embed": (v, d), "ln_f": (d,), "head": (d, v)}[path[0]]
  return shapes
