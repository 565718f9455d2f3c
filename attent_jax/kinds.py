"""Model kinds: one record per kind of attention learner, holding everything the rest of the package asks
of it. Everything outside `attent_jax/models/` looks a kind up here (`get(config.model.kind)`) instead of
comparing its name; adding a kind is adding one record to `KINDS`.

  "vit"  ViT classifier on images: classification CE; eval accuracy; target eval/accuracy
  "gpt"  GPT causal LM on token sequences: token CE over valid targets; eval perplexity; target eval/loss
  "mae"  ViT masked autoencoder on images: MSE over masked patches; target eval/probe_accuracy (the
         linear probe of its encoder, `attent_jax.probe`)
  "llama" LLaMA-family causal LM on prompt/response tokens: token CE over response targets; eval
         perplexity and exact match of greedy answers (`attent_jax.generation_eval`); target
         eval/exact_match

Every function in a record is pure and jittable, except the host-side evaluator `make_host_eval` builds.
`outputs` is what the model's apply_fn returns (logits, or the MAE's dict); `batch` is a model batch as
`attent_jax.data.Batcher` makes it, with "mask" bool[B] False on a padded tail.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from attent_jax import generation_eval, losses
from attent_jax.models import gpt, llama, mae, pretrained, vit

Batch = dict[str, jax.Array]
Outputs = Any


@dataclasses.dataclass(frozen=True)
class ModelKind:
  """One kind of attention learner.

  name: the value of `config.model.kind`. config_cls: the model's frozen dataclass config; build:
  `build(model_config, key) -> (apply_fn, params)`; make_apply_fn: `(model_config) -> apply_fn` alone
  (for parameters that come from elsewhere). pool_kind: the `Pool.kind` its data must have.
  losses: `(outputs, batch) -> f32[B]` per-example training loss (0 on padded rows). discrepancy:
  `(outputs, batch) -> f32[B]`, the norm of dL/d(outputs), the functional residual the teacher ranks by.
  eval_sums: `(outputs, batch) -> {name: f32[]}` sums over valid rows beyond loss and count;
  summarize: `(sums, count) -> {metric: float}` the metrics beyond "loss" from those sums.
  target_metric / higher_is_better: the history key benchmarks compare runs by. ntk_output:
  `(outputs, batch) -> array` the function whose ANTK is studied; ntk_labels: the batch key of labels for
  kernel-target alignment, or None. lora: LoRA adapters apply. load_pretrained: `(directory, *, mesh,
  rules, param_dtype) -> (model_config, params)` from a local Hugging Face checkpoint (with a mesh, each
  tensor goes straight into its sharded array), or None. make_encoder: `(model_config) ->
  encode_fn` for the linear probe, or None. make_host_eval: `(config, task, eval_pool) -> (params ->
  {metric: float}) | None`, metrics computed on the host at each evaluation beyond the jitted sums (not
  jittable: e.g. decoding and parsing text), built before anything compiles; or None.
  """
  name: str
  config_cls: type
  build: Callable[[Any, jax.Array], tuple[Callable[..., Outputs], Any]]
  make_apply_fn: Callable[[Any], Callable[..., Outputs]]
  pool_kind: str
  losses: Callable[[Outputs, Batch], jax.Array]
  discrepancy: Callable[[Outputs, Batch], jax.Array]
  target_metric: str
  higher_is_better: bool
  ntk_output: Callable[[Outputs, Batch], jax.Array]
  eval_sums: Callable[[Outputs, Batch], dict[str, jax.Array]] = lambda outputs, batch: {}
  summarize: Callable[[dict[str, float], float], dict[str, float]] = lambda sums, count: {}
  ntk_labels: str | None = None
  lora: bool = False
  load_pretrained: Callable[[Any], tuple[Any, Any]] | None = None
  make_encoder: Callable[[Any], Callable[..., jax.Array]] | None = None
  make_host_eval: Callable[[Any, Any, Any], Callable[[Any], dict[str, float]] | None] | None = None


# ---------------------------------------------------------------- classification (ViT)

def _label_loss(logits_BC, batch):
  return losses.cross_entropy(logits_BC, batch["label"], batch["mask"])[0]


def _label_residual(logits_BC, batch):
  return losses.residual_norm(logits_BC, batch["label"], batch["mask"])


def _correct_sums(logits_BC, batch):
  correct_B = (jnp.argmax(logits_BC, axis=-1) == batch["label"]) & batch["mask"]
  return {"correct": correct_B.astype(jnp.float32).sum()}


# ---------------------------------------------------------------- language modelling (GPT)

def _target_mask(batch):
  """bool[B, L]: the target positions that count (not padding, not prompt, not a padded row)."""
  return batch["loss_mask"] & batch["mask"][:, None]


def _token_loss(logits_BLV, batch):
  return losses.cross_entropy(logits_BLV, batch["targets"], _target_mask(batch))[0]


def _token_residual(logits_BLV, batch):
  return losses.residual_norm(logits_BLV, batch["targets"], _target_mask(batch))


def _perplexity(sums, count):
  return {"perplexity": math.exp(min(float(sums["loss"]) / count, 50.0))}


def _checkpoint_loader(config_cls: type, kind_name: str, model_types: str):
  """`load_pretrained` of a kind: `pretrained.load`, checked to give this kind's config."""
  def load(directory, *, mesh=None, rules=None, param_dtype: str = "float32"):
    model_cfg, params = pretrained.load(directory, mesh=mesh, rules=rules, param_dtype=param_dtype)
    if not isinstance(model_cfg, config_cls):
      raise ValueError(f"{directory} holds a {type(model_cfg).__name__} checkpoint; config.model.kind="
                       f"{kind_name!r} loads {model_types} checkpoints")
    return model_cfg, params
  return load


# ---------------------------------------------------------------- masked autoencoding (MAE)

def _reconstruction(outputs, batch):
  # The squared reconstruction error is already the squared functional residual.
  return losses.mae_reconstruction(outputs["pred"], outputs["target"], outputs["masked"],
                                   batch["mask"])


KINDS: dict[str, ModelKind] = {
    "vit": ModelKind(
        name="vit", config_cls=vit.ViTConfig, build=vit.build,
        make_apply_fn=vit.make_apply_fn, pool_kind="image",
        losses=_label_loss, discrepancy=_label_residual, target_metric="eval/accuracy",
        higher_is_better=True, ntk_output=lambda logits_BC, batch: logits_BC,
        eval_sums=_correct_sums, summarize=lambda sums, count: {"accuracy": float(sums["correct"]) / count},
        ntk_labels="label"),
    "gpt": ModelKind(
        name="gpt", config_cls=gpt.GPTConfig, build=gpt.build,
        make_apply_fn=gpt.make_apply_fn, pool_kind="tokens",
        losses=_token_loss, discrepancy=_token_residual, target_metric="eval/loss",
        higher_is_better=False,
        # Next-token logits at the last position: all positions would make the kernel L times dearer.
        ntk_output=lambda logits_BLV, batch: logits_BLV[:, -1],
        summarize=_perplexity, lora=True, load_pretrained=_checkpoint_loader(gpt.GPTConfig, "gpt", "gpt2")),
    "mae": ModelKind(
        name="mae", config_cls=mae.MAEConfig, build=mae.build,
        make_apply_fn=mae.make_apply_fn, pool_kind="image",
        losses=_reconstruction, discrepancy=_reconstruction, target_metric="eval/probe_accuracy",
        higher_is_better=True, ntk_output=lambda outputs, batch: outputs["pred"],
        make_encoder=mae.make_encoder),
    "llama": ModelKind(
        name="llama", config_cls=llama.LlamaConfig, build=llama.build,
        make_apply_fn=llama.make_apply_fn, pool_kind="tokens",
        losses=_token_loss, discrepancy=_token_residual, target_metric="eval/exact_match",
        higher_is_better=True, ntk_output=lambda logits_BLV, batch: logits_BLV[:, -1],
        summarize=_perplexity, lora=True, load_pretrained=_checkpoint_loader(
            llama.LlamaConfig, "llama", "llama, mistral and qwen2"),
        make_host_eval=generation_eval.from_config),
}


def get(name: str) -> ModelKind:
  """The record of `config.model.kind` == name. Raises ValueError naming the known kinds."""
  if name not in KINDS:
    raise ValueError(f"config.model.kind must be one of {sorted(KINDS)}, got {name!r}")
  return KINDS[name]
