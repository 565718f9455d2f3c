"""Local Hugging Face checkpoints <-> this package's models (a frozen config + a plain param dict).

    config, params = pretrained.load("/path/to/llama")       # gpt2, llama, mistral or qwen2
    apply_fn = models.make_apply_fn(config)                   # GPTConfig or LlamaConfig
    config, params = pretrained.load(path, mesh=mesh, rules=sharding.FSDP_RULES)  # sharded on load
    pretrained.save("/tmp/export", config, params)            # and back (float32)

No network: the directory must already hold config.json and model.safetensors (or a sharded
model.safetensors.index.json plus its shards). LLaMA-family checkpoints (see hf_llama.py for the
field mapping and the supported features) are read tensor by tensor; with a mesh, each device's
slice of each tensor is read straight into its shard of the sharded array (`hf_files`), never a whole
host copy of the model. GPT-2 (`load_gpt2`, `save_gpt2`): tensors are read with the `safetensors`
package's numpy API, with or without the "transformer." prefix. GPT-2's Conv1D weights are already
[in, out], the layout of a Dense kernel; the fused attention projection c_attn [D, 3D] splits into
q, k, v. Buffers such as "h.{i}.attn.bias" (the causal mask) are ignored; lm_head is tied to wte
unless the config says tie_word_embeddings=false. GPT-2 parameters load as float32.
"""

from __future__ import annotations

import functools
import json
import pathlib
from typing import Any

import numpy as np
from safetensors import numpy as safetensors_numpy

import jax
import jax.numpy as jnp

from attent_jax import sharding as sharding_lib
from attent_jax.models import fields, hf_files, hf_llama
from attent_jax.models.gpt import GPTConfig
from attent_jax.models.llama import LlamaConfig

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
PREFIX = "transformer."
TANH_GELUS = ("gelu_new", "gelu_pytorch_tanh")
Params = dict[str, Any]


def _read_config(path: pathlib.Path, dtype: str, dropout: float) -> GPTConfig:
  hf = json.loads(path.read_text())
  if hf.get("model_type") != "gpt2":
    raise ValueError(f"{path}: model_type {hf.get('model_type')!r} is not supported; expected 'gpt2'")
  missing = [k for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head") if k not in hf]
  if missing:
    raise ValueError(f"{path}: missing GPT-2 config field(s) {missing}")
  activation = hf.get("activation_function", "gelu_new")
  if activation not in TANH_GELUS:
    raise ValueError(f"{path}: activation_function {activation!r} is not supported; "
                     f"expected one of {TANH_GELUS}")
  if not hf.get("scale_attn_weights", True) or hf.get("scale_attn_by_inverse_layer_idx", False):
    raise ValueError(f"{path}: only the standard 1/sqrt(head_dim) attention scaling is supported "
                     "(scale_attn_weights=true, scale_attn_by_inverse_layer_idx=false)")
  return GPTConfig(
      vocab_size=hf["vocab_size"], max_len=hf["n_positions"], num_layers=hf["n_layer"],
      num_heads=hf["n_head"], d_model=hf["n_embd"], d_mlp=hf.get("n_inner") or 4 * hf["n_embd"],
      positions="learned", tie_embeddings=hf.get("tie_word_embeddings", True), use_bias=True,
      dropout=dropout, dtype=dtype, layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5))


def expected_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
  """The HF tensor names (without prefix) a GPT-2 checkpoint of `config` must hold, with shapes."""
  d, f = config.d_model, config.d_mlp
  shapes = {"wte.weight": (config.vocab_size, d), "wpe.weight": (config.max_len, d),
            "ln_f.weight": (d,), "ln_f.bias": (d,)}
  for i in range(config.num_layers):
    h = f"h.{i}."
    shapes.update({
        h + "ln_1.weight": (d,), h + "ln_1.bias": (d,),
        h + "attn.c_attn.weight": (d, 3 * d), h + "attn.c_attn.bias": (3 * d,),
        h + "attn.c_proj.weight": (d, d), h + "attn.c_proj.bias": (d,),
        h + "ln_2.weight": (d,), h + "ln_2.bias": (d,),
        h + "mlp.c_fc.weight": (d, f), h + "mlp.c_fc.bias": (f,),
        h + "mlp.c_proj.weight": (f, d), h + "mlp.c_proj.bias": (d,)})
  if not config.tie_embeddings:
    shapes["lm_head.weight"] = (config.vocab_size, d)
  return shapes


def _checked_tensors(raw: dict[str, np.ndarray], config: GPTConfig, path: pathlib.Path
                     ) -> dict[str, np.ndarray]:
  names = {name.removeprefix(PREFIX): array for name, array in raw.items()}
  tensors = {}
  for name, shape in expected_shapes(config).items():
    if name not in names:
      raise ValueError(f"{path}: missing tensor {name!r} (expected shape {shape})")
    if tuple(names[name].shape) != shape:
      raise ValueError(f"{path}: tensor {name!r} has shape {tuple(names[name].shape)}, "
                       f"expected {shape}")
    tensors[name] = np.asarray(names[name], dtype=np.float32)
  return tensors


def _dense(weight: np.ndarray, bias: np.ndarray) -> Params:
  return {"kernel": weight, "bias": bias}


def _norm(tensors: dict[str, np.ndarray], name: str) -> Params:
  return {"scale": tensors[name + ".weight"], "bias": tensors[name + ".bias"]}


def load_gpt2(directory: str | pathlib.Path, *, dtype: str = "float32", dropout: float = 0.0
              ) -> tuple[GPTConfig, Params]:
  """Reads a local HF GPT-2 directory into (GPTConfig, params) for `gpt.build`'s apply_fn.

  `dtype` is the compute dtype of the returned config (params are always float32 numpy arrays);
  `dropout` its dropout rate (HF's *_pdrop fields are not used). Raises FileNotFoundError for a
  missing config.json / model.safetensors, ValueError for an unsupported config or a missing or
  mis-shaped tensor (naming it and the expected shape).
  """
  directory = pathlib.Path(directory)
  config_path, weights_path = directory / CONFIG_FILE, directory / WEIGHTS_FILE
  for path in (config_path, weights_path):
    if not path.is_file():
      raise FileNotFoundError(f"GPT-2 checkpoint file not found: {path}")
  config = _read_config(config_path, dtype, dropout)
  t = _checked_tensors(safetensors_numpy.load_file(weights_path), config, weights_path)

  d = config.d_model
  params: Params = {"embed": {"embedding": t["wte.weight"]}, "pos_embed": t["wpe.weight"]}
  for i in range(config.num_layers):
    h = f"h.{i}."
    qkv_w, qkv_b = t[h + "attn.c_attn.weight"], t[h + "attn.c_attn.bias"]
    params[f"block_{i}"] = {
        "ln1": _norm(t, h + "ln_1"),
        "attn": {name: _dense(qkv_w[:, j * d:(j + 1) * d], qkv_b[j * d:(j + 1) * d])
                 for j, name in enumerate(("q", "k", "v"))}
                | {"o": _dense(t[h + "attn.c_proj.weight"], t[h + "attn.c_proj.bias"])},
        "ln2": _norm(t, h + "ln_2"),
        "mlp": {"up": _dense(t[h + "mlp.c_fc.weight"], t[h + "mlp.c_fc.bias"]),
                "down": _dense(t[h + "mlp.c_proj.weight"], t[h + "mlp.c_proj.bias"])},
    }
  params["ln_f"] = _norm(t, "ln_f")
  if not config.tie_embeddings:
    params["head"] = {"kernel": np.ascontiguousarray(t["lm_head.weight"].T)}
  return config, params


def save_gpt2(directory: str | pathlib.Path, config: GPTConfig, params: Params) -> None:
  """Writes (config, params) as a HF GPT-2 directory (config.json + model.safetensors, float32).

  Only GPT-2-shaped models can be written: positions="learned" and use_bias=True, else ValueError.
  `load_gpt2` reads the result back exactly.
  """
  if config.positions != "learned" or not config.use_bias:
    raise ValueError("only positions='learned', use_bias=True GPTs have a GPT-2 checkpoint format")
  directory = pathlib.Path(directory)
  directory.mkdir(parents=True, exist_ok=True)
  hf_config = {
      "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
      "vocab_size": config.vocab_size, "n_positions": config.max_len, "n_ctx": config.max_len,
      "n_embd": config.d_model, "n_layer": config.num_layers, "n_head": config.num_heads,
      "n_inner": config.d_mlp, "activation_function": "gelu_new",
      "layer_norm_epsilon": config.layer_norm_eps, "tie_word_embeddings": config.tie_embeddings,
      "resid_pdrop": config.dropout, "embd_pdrop": config.dropout, "attn_pdrop": config.dropout,
      "scale_attn_weights": True, "initializer_range": 0.02,
  }
  (directory / CONFIG_FILE).write_text(json.dumps(hf_config, indent=2) + "\n")

  array = lambda x: np.ascontiguousarray(np.asarray(x, dtype=np.float32))
  tensors = {"wte.weight": params["embed"]["embedding"], "wpe.weight": params["pos_embed"],
             "ln_f.weight": params["ln_f"]["scale"], "ln_f.bias": params["ln_f"]["bias"]}
  for i in range(config.num_layers):
    block, h = params[f"block_{i}"], f"h.{i}."
    attn, mlp = block["attn"], block["mlp"]
    tensors.update({
        h + "ln_1.weight": block["ln1"]["scale"], h + "ln_1.bias": block["ln1"]["bias"],
        h + "attn.c_attn.weight": np.concatenate(
            [np.asarray(attn[n]["kernel"]) for n in ("q", "k", "v")], axis=1),
        h + "attn.c_attn.bias": np.concatenate(
            [np.asarray(attn[n]["bias"]) for n in ("q", "k", "v")]),
        h + "attn.c_proj.weight": attn["o"]["kernel"], h + "attn.c_proj.bias": attn["o"]["bias"],
        h + "ln_2.weight": block["ln2"]["scale"], h + "ln_2.bias": block["ln2"]["bias"],
        h + "mlp.c_fc.weight": mlp["up"]["kernel"], h + "mlp.c_fc.bias": mlp["up"]["bias"],
        h + "mlp.c_proj.weight": mlp["down"]["kernel"], h + "mlp.c_proj.bias": mlp["down"]["bias"]})
  if not config.tie_embeddings:
    tensors["lm_head.weight"] = np.asarray(params["head"]["kernel"]).T
  safetensors_numpy.save_file({name: array(x) for name, x in tensors.items()},
                              directory / WEIGHTS_FILE, metadata={"format": "pt"})


def _set(tree: Params, path: tuple[str, ...], value: Any) -> None:
  for name in path[:-1]:
    tree = tree.setdefault(name, {})
  tree[path[-1]] = value


def _read_param(files: hf_files.TensorFiles, name: str, transposed: bool, dtype: np.dtype,
                index: tuple[slice, ...] | None = None) -> np.ndarray:
  """Parameter `index` (all of it if None) of HF tensor `name`, transposed if HF stores [out, in]."""
  if transposed and index is not None:
    index = tuple(reversed(index))
  array = files.read(name, index)
  return np.ascontiguousarray((array.T if transposed else array).astype(dtype))


def _load_llama(directory: pathlib.Path, hf: dict[str, Any], config_path: pathlib.Path, *,
                dtype: str, mesh: jax.sharding.Mesh | None, rules: sharding_lib.Rules | None,
                max_len: int | None, param_dtype: str) -> tuple[LlamaConfig, Params]:
  config = hf_llama.config_from_hf(hf, str(config_path), dtype=dtype, max_len=max_len)
  files = hf_files.TensorFiles(directory)
  layout, shapes = hf_llama.tensor_layout(config), hf_llama.param_shapes(config)
  stored = files.names()
  for path, (name, transposed) in layout.items():  # Every check before any data is read.
    expected = shapes[path][::-1] if transposed else shapes[path]
    if name not in stored:
      raise ValueError(f"{files.source}: missing tensor {name!r} (expected shape {expected})")
    if files.shape(name) != expected:
      raise ValueError(f"{files.file_of(name)}: tensor {name!r} has shape {files.shape(name)}, "
                       f"expected {expected}")

  np_dtype = jnp.dtype(fields.COMPUTE_DTYPES[param_dtype])
  shardings: dict[tuple[str, ...], Any] = {}
  if mesh is not None:
    abstract: Params = {}
    for path, shape in shapes.items():
      _set(abstract, path, jax.ShapeDtypeStruct(shape, np_dtype))
    tree = sharding_lib.param_shardings(abstract, mesh, rules or sharding_lib.DATA_PARALLEL_RULES)
    for path in shapes:
      shardings[path] = functools.reduce(lambda node, key: node[key], path, tree)

  params: Params = {}
  for path, (name, transposed) in layout.items():
    read = functools.partial(_read_param, files, name, transposed, np_dtype)
    if mesh is None:
      _set(params, path, read())
    else:  # Each device's callback reads only its own slice of the stored tensor.
      _set(params, path, jax.make_array_from_callback(shapes[path], shardings[path], read))
  return config, params


def load(directory: str | pathlib.Path, dtype: str = "float32",
         mesh: jax.sharding.Mesh | None = None, rules: sharding_lib.Rules | None = None, *,
         max_len: int | None = None, param_dtype: str = "float32"
         ) -> tuple[GPTConfig | LlamaConfig, Params]:
  """Reads a local HF checkpoint (model_type gpt2, llama, mistral or qwen2) into (config, params).

  dtype: the returned config's compute dtype. param_dtype: the parameters' dtype ("float32", or
  "bfloat16" for a frozen LoRA base; LLaMA family only). max_len: the longest sequence to run
  (default max_position_embeddings / n_positions; it may not exceed it; a Mistral/Qwen2 sliding
  window must be >= it). With `mesh`, params are jax Arrays laid out by `rules` (default
  sharding.DATA_PARALLEL_RULES; sharding.FSDP_RULES for large models), each device reading only its
  slice; without, numpy arrays. Raises FileNotFoundError (missing config.json or weights) and
  ValueError (unsupported model_type or feature, missing config field, missing or mis-shaped
  tensor), naming the file and the field or tensor, before reading any weights.
  """
  directory = pathlib.Path(directory)
  config_path = directory / CONFIG_FILE
  if not config_path.is_file():
    raise FileNotFoundError(f"checkpoint file not found: {config_path}")
  try:
    hf = json.loads(config_path.read_text())
  except json.JSONDecodeError as error:
    raise ValueError(f"{config_path}: not valid JSON ({error})") from error
  fields.require_dtype(dtype)
  fields.require_dtype(param_dtype, "param_dtype")
  model_type = hf.get("model_type")
  if model_type in hf_llama.MODEL_TYPES:
    return _load_llama(directory, hf, config_path, dtype=dtype, mesh=mesh, rules=rules,
                       max_len=max_len, param_dtype=param_dtype)
  if model_type != "gpt2":
    raise ValueError(f"{config_path}: model_type {model_type!r} is not supported; expected one of "
                     f"{('gpt2',) + hf_llama.MODEL_TYPES}")
  if param_dtype != "float32":
    raise ValueError("param_dtype must be 'float32' for GPT-2 checkpoints")
  config, params = load_gpt2(directory, dtype=dtype)
  if max_len is not None and not 0 < max_len <= config.max_len:
    raise ValueError(f"{config_path}: max_len={max_len} must be in [1, n_positions={config.max_len}]")
  if mesh is not None:
    params = jax.device_put(params, sharding_lib.param_shardings(
        params, mesh, rules or sharding_lib.DATA_PARALLEL_RULES))
  return config, params


def save(directory: str | pathlib.Path, config: GPTConfig | LlamaConfig, params: Params, *,
         model_type: str | None = None, shards: int = 1) -> None:
  """Writes (config, params) as a HF checkpoint directory that `load` reads back (float32 weights).

  A GPTConfig is written as gpt2 (`save_gpt2`). A LlamaConfig as `model_type` (default "qwen2"
  when it has q/k/v biases, else "llama"), in one model.safetensors or, with shards > 1, that many
  shard files and a model.safetensors.index.json.
  """
  if isinstance(config, GPTConfig):
    if model_type not in (None, "gpt2") or shards != 1:
      raise ValueError("a GPTConfig is saved as one gpt2 model.safetensors (model_type='gpt2', "
                       "shards=1)")
    save_gpt2(directory, config, params)
    return
  if not isinstance(config, LlamaConfig):
    raise ValueError(f"cannot save a {type(config).__name__}; expected GPTConfig or LlamaConfig")
  model_type = model_type or ("qwen2" if config.qkv_bias else "llama")
  hf = hf_llama.config_to_hf(config, model_type)
  tensors = {}
  for path, (name, transposed) in hf_llama.tensor_layout(config).items():
    array = np.asarray(functools.reduce(lambda node, key: node[key], path, params), np.float32)
    tensors[name] = array.T if transposed else array
  directory = pathlib.Path(directory)
  hf_files.write(directory, tensors, shards)
  (directory / CONFIG_FILE).write_text(json.dumps(hf, indent=2) + "\n")
