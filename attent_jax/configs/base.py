"""The fields every experiment config has, with their defaults. Experiment configs start from here.

A config is an ml_collections ConfigDict, locked by `experiments/train.py` so a mistyped key on the
command line (`--config.train.epohcs=3`) is an error, not a silently ignored setting. Empty strings and 0
mean "unset" (ConfigDict fields keep one type).
"""

from __future__ import annotations

import ml_collections


def base_config() -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.data = ml_collections.ConfigDict(dict(
      name="fashion_mnist_local",  # A local builder (see attent_jax.data) or any tfds catalog name.
      split="train",               # The pool the teacher selects from.
      eval_split="test",
      source_dir="",               # Local builders: the IDX directory / code directory ("" = default).
      data_dir="",                 # Where tfds writes array_record files ("" = ~/tensorflow_datasets).
      limit=0,                     # Keep the first `limit` pool examples (0 = all)...
      skip=0,                      # ...after the first `skip` (skip=limit: a held-out pool).
      eval_limit=0,
      seq_len=0,                   # Token pools: sequence length (0 = the model's max_len).
      label_noise=0.0,             # Image pools: this fraction of training labels flipped (test clean).
      label_noise_seed=0,          # Which ones, and to what (attent_jax.data.label_noise).
      # Prompt/response pools: "" = the init checkpoint's tokenizer.json if it has one, else bytes; or
      # a tokenizer.json / its directory. Examples over seq_len + 1 tokens: "truncate" or "drop".
      tokenizer="",
      overlong="truncate",
  ))

  config.model = ml_collections.ConfigDict()  # `kind` ("vit" | "gpt" | "mae") + the model's fields.

  config.lora = ml_collections.ConfigDict(dict(
      enabled=False, rank=8, alpha=16.0, targets=("q", "k", "v", "o", "up", "down")))
  # Initial weights: "" (random), a workdir of an earlier attent_jax run (its final params), or a local
  # Hugging Face GPT-2 directory (config.json + model.safetensors).
  # checkpoint: "" (random), a local Hugging Face directory, or a finished run's workdir. param_dtype:
  # "bfloat16" stores a checkpoint's frozen LoRA base in bf16 (half the memory); trainable params stay f32.
  config.init = ml_collections.ConfigDict(dict(checkpoint="", param_dtype="float32"))

  # The teacher: a preset of attent_jax.selection (or "full_data") and overrides of its arguments.
  # irreducible_from: the workdir of a finished run of the same model whose final params give each
  # example's irreducible loss, for overrides.score_kind="reducible_loss" (attent_jax.train.irreducible).
  # class_balanced: pass the pool's class labels as the preset's `classes` (class-balanced picks).
  # logical_shards: the pool's layout (attent_jax.selection.layout): each epoch is shuffled within
  # that many shards, every batch takes batch_size / logical_shards rows of each, and the teacher's
  # state is sharded over the mesh's data axis (whose size must divide it). For a fixed value the
  # selections and the training data are the same on any such number of devices or hosts. The group
  # presets (grant_b, grant_s, granularity != "pool") need 1.
  config.teacher = ml_collections.ConfigDict(dict(name="full_data", overrides={}, irreducible_from="",
                                                  class_balanced=False, logical_shards=8))

  config.train = ml_collections.ConfigDict(dict(
      epochs=10,
      batch_size=128,
      eval_batch_size=512,         # Also the batch size of fresh scoring passes.
      learning_rate=1e-3,
      min_learning_rate_ratio=0.01,
      warmup_steps=100,            # In full-data steps under schedule_over="epochs".
      # The LR schedule runs over the planned "steps" (a subset run anneals in fewer steps) or over
      # nominal full-data "epochs" progress (as in the paper's ViT code; see attent_jax.epoch_schedule).
      schedule_over="steps",
      weight_decay=1e-4,
      grad_clip=1.0,
      num_devices=0,               # 0 = all devices.
      fsdp=False,                  # Shard large kernels over the data axis (FSDP) instead of replicating.
      log_every_steps=50,
      checkpoint_every_steps=0,    # 0 = at the end of each epoch only.
      eval_every_epochs=1,
      # "epochs": every eval_every_epochs epochs of the run; "examples": every eval_every_epochs
      # pool sizes of examples trained, as often per example for a subset run as for full data.
      eval_cadence="epochs",
      max_to_keep=3,
      stop_after_step=0,           # Checkpoint and stop after this optimizer step (0 = never).
  ))

  # Generation eval of prompt/response models: greedy answers to the first `generate_examples` eval
  # prompts, `max_new_tokens` long, judged by exact match of the number after "####" (0 = off).
  config.eval = ml_collections.ConfigDict(dict(generate_examples=0, max_new_tokens=0))

  config.probe = ml_collections.ConfigDict(dict(  # Linear probe of an MAE encoder.
      enabled=False, train_examples=5000, eval_examples=2000))
  return config


def is_smoke(arg: str | None) -> bool:
  if arg not in (None, "", "smoke"):
    raise ValueError(f"unknown config argument {arg!r}; expected nothing or 'smoke'")
  return arg == "smoke"
