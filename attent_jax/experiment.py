"""From a config to everything a run needs, validated before anything compiles.

`build(config)` checks the config, loads the pools, builds the model (random, pretrained or from an earlier
run), the teacher, the optimizer and its LR schedule over the steps that will really happen, and the mesh.
Every mistake a user can make in a config surfaces here as a ValueError/FileNotFoundError that names it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
from collections.abc import Callable
from typing import Any

import jax
import ml_collections
import optax
from absl import logging

from attent_jax import data as data_lib
from attent_jax import epoch_schedule
from attent_jax import eval_cadence
from attent_jax import kinds
from attent_jax import lr_floor
from attent_jax import selection
from attent_jax import sharding as sharding_lib
from attent_jax import tasks as tasks_lib
from attent_jax.data import label_noise
from attent_jax.data import sft
from attent_jax.data import tokenizer as tokenizer_lib
from attent_jax.models import lora
from attent_jax.selection.timetable import SELECT

_GROUPED_PRESETS = ("grant_b", "grant_s")  # Selection within groups of batch_size.
_COMPUTE_FIELDS = ("dtype", "attention", "remat")  # config.model fields a loaded checkpoint keeps.


@dataclasses.dataclass
class Experiment:
  config: ml_collections.ConfigDict
  mesh: jax.sharding.Mesh
  train_pool: data_lib.Pool
  eval_pool: data_lib.Pool
  batcher: data_lib.Batcher          # Training batches from the pool.
  score_batcher: data_lib.Batcher    # Scoring passes over the pool (eval batch size).
  eval_batcher: data_lib.Batcher
  task: tasks_lib.Task
  teacher: selection.Teacher
  optimizer: optax.GradientTransformation
  learning_rate: optax.Schedule      # Over real steps ("steps"), or over nominal steps ("epochs").
  steps_per_epoch: tuple[int, ...]
  fingerprint: dict
  # schedule_over="epochs": (epoch, batches this epoch) -> f32[batches], the LR each step is fed.
  epoch_learning_rates: epoch_schedule.EpochProgressRates | None = None
  # Host-side metrics beyond the jitted eval sums (the kind's `make_host_eval`, e.g. exact match of
  # greedy generations): combined params -> {metric: float}; None if the kind has none.
  host_eval: Callable[[Any], dict[str, float]] | None = None

  @property
  def total_steps(self) -> int:
    return sum(self.steps_per_epoch)


def _require(condition: bool, message: str) -> None:
  if not condition:
    raise ValueError(message)


def validate(config: ml_collections.ConfigDict) -> None:
  """Checks the config's values that need neither data nor devices. Raises ValueError naming the field.

  The rest is checked once, where it is used, still before anything compiles: the teacher's name and
  arguments by `selection.make_teacher`, the device count by `sharding.make_mesh`, batch sizes against
  the mesh by `data.Batcher`, the model's fields by its config class.
  """
  train = config.train
  kind = kinds.get(config.model.get("kind"))
  for name in ("epochs", "batch_size", "eval_batch_size", "log_every_steps", "eval_every_epochs",
               "max_to_keep"):
    _require(int(train[name]) > 0, f"config.train.{name} must be positive, got {train[name]}")
  _require(train.learning_rate > 0, f"config.train.learning_rate must be > 0, got {train.learning_rate}")
  _require(0 <= train.min_learning_rate_ratio <= 1, "config.train.min_learning_rate_ratio must be in [0, 1]")
  _require(train.warmup_steps >= 0, f"config.train.warmup_steps must be >= 0, got {train.warmup_steps}")
  _require(train.weight_decay >= 0, f"config.train.weight_decay must be >= 0, got {train.weight_decay}")
  _require(train.grad_clip >= 0, f"config.train.grad_clip must be >= 0, got {train.grad_clip}")
  _require(train.schedule_over in epoch_schedule.SCHEDULE_OVER,
           f"config.train.schedule_over must be one of {epoch_schedule.SCHEDULE_OVER}, got "
           f"{train.schedule_over!r}")
  eval_cadence.check(train.eval_cadence)
  _require(train.checkpoint_every_steps >= 0, "config.train.checkpoint_every_steps must be >= 0")
  _require(config.data.limit >= 0 and config.data.eval_limit >= 0, "config.data limits must be >= 0")
  _require(config.data.skip >= 0, f"config.data.skip must be >= 0, got {config.data.skip}")
  _require(0 <= config.data.label_noise < 1,
           f"config.data.label_noise must be in [0, 1), got {config.data.label_noise}")
  _require(config.data.overlong in sft.OVERLONG,
           f"config.data.overlong must be one of {sft.OVERLONG}, got {config.data.overlong!r}")
  _require(config.eval.generate_examples >= 0,
           f"config.eval.generate_examples must be >= 0, got {config.eval.generate_examples}")
  _require(not config.eval.generate_examples or config.eval.max_new_tokens > 0,
           "config.eval.max_new_tokens must be positive when config.eval.generate_examples is "
           f"{config.eval.generate_examples}")
  shards = config.teacher.logical_shards
  _require(isinstance(shards, int) and shards >= 1,
           f"config.teacher.logical_shards must be a positive integer, got {shards!r}")
  _require(train.batch_size % shards == 0,
           f"config.train.batch_size={train.batch_size} must be a multiple of "
           f"config.teacher.logical_shards={shards} (every batch takes as many rows from each "
           "logical shard of the pool)")
  _require(config.init.param_dtype in ("float32", "bfloat16"),
           f"config.init.param_dtype must be 'float32' or 'bfloat16', got {config.init.param_dtype!r}")
  _require(config.init.param_dtype == "float32" or (config.lora.enabled and config.init.checkpoint),
           "config.init.param_dtype='bfloat16' is for the frozen base of a LoRA run from a checkpoint "
           "(config.lora.enabled=True, config.init.checkpoint=<dir>)")
  if config.lora.enabled:
    _require(config.lora.rank > 0, f"config.lora.rank must be positive, got {config.lora.rank}")
    _require(kind.lora, f"LoRA fine-tuning is not supported for model kind {kind.name!r}; kinds "
             f"that support it: {sorted(k.name for k in kinds.KINDS.values() if k.lora)}")


def model_config(config: ml_collections.ConfigDict):
  """The model's frozen dataclass config (validated by its __post_init__)."""
  fields = dict(config.model)
  config_cls = kinds.get(fields.pop("kind")).config_cls
  try:
    return config_cls(**fields)
  except TypeError as error:  # An unknown or missing field.
    raise ValueError(f"config.model does not fit {config_cls.__name__}: {error}") from error


def build_task(config: ml_collections.ConfigDict,
               mesh: jax.sharding.Mesh | None = None) -> tasks_lib.Task:
  """The model (random, pretrained, or from an earlier run; LoRA-wrapped if asked) joined to its loss.

  config.init.checkpoint: "" (random init), a local Hugging Face directory (its config.json then
  defines the model; kinds with `load_pretrained`), or the workdir of a finished attent_jax run of the
  same model (its final_params/). A random init is not run here: the task carries it as a pure
  `init_fn(key)`, which `train.init_state` runs directly sharded (only its shapes are traced here, to
  validate it).
  """
  kind = kinds.get(config.model.kind)
  model_cfg, key = model_config(config), jax.random.key(config.seed)
  source = pathlib.Path(config.init.checkpoint) if config.init.checkpoint else None
  if source is not None and (source / "config.json").is_file():
    _require(kind.load_pretrained is not None,
             f"model kind {kind.name!r} cannot load a Hugging Face checkpoint; kinds that can: "
             f"{sorted(k.name for k in kinds.KINDS.values() if k.load_pretrained)}")
    # With the run's mesh, each tensor is read straight into its (FSDP-)sharded array: no host copy of
    # the whole model. config.init.param_dtype="bfloat16" halves a frozen LoRA base.
    model_cfg, params = kind.load_pretrained(
        source, mesh=mesh, rules=sharding_lib.rules_for(config.train.fsdp),
        param_dtype=config.init.param_dtype)
    # The checkpoint defines the architecture; how to compute it (dtype, attention, remat) is the run's.
    model_cfg = dataclasses.replace(model_cfg, **{
        name: config.model[name] for name in _COMPUTE_FIELDS
        if name in config.model and hasattr(model_cfg, name)})
    apply_fn, base_init, base_args = kind.make_apply_fn(model_cfg), tasks_lib.given, params
  elif source is not None:
    if not (source / "final_params").is_dir():
      raise FileNotFoundError(
          f"config.init.checkpoint={str(source)!r} is neither a Hugging Face checkpoint directory "
          "(config.json + model.safetensors) nor the workdir of a finished attent_jax run "
          "(final_params/)")
    from attent_jax import checkpoint  # pylint: disable=g-import-not-at-top
    like = jax.eval_shape(lambda k: kind.build(model_cfg, k)[1], key)
    apply_fn, base_init = kind.make_apply_fn(model_cfg), tasks_lib.given
    base_args = checkpoint.load_params(source / "final_params", like)
  else:
    apply_fn, base_init, base_args = (kind.make_apply_fn(model_cfg),
                                      lambda k: kind.build(model_cfg, k)[1], key)
  encode_fn = kind.make_encoder(model_cfg) if kind.make_encoder else None
  if not config.lora.enabled:
    task = tasks_lib.Task(kind=kind, apply_fn=apply_fn, init_fn=base_init, init_args=base_args,
                          encode_fn=encode_fn, model_config=model_cfg)
  else:
    lora_cfg = lora.LoRAConfig(rank=config.lora.rank, alpha=config.lora.alpha,
                               targets=tuple(config.lora.targets))
    adapter_key = jax.random.fold_in(key, 1)
    init_fn = lambda args: lora.wrap(apply_fn, base_init(args), lora_cfg, adapter_key)[1]
    # The wrapped apply_fn does not depend on the base's values: wrap the abstract base for it.
    lora_apply, _ = lora.wrap(apply_fn, jax.eval_shape(base_init, base_args), lora_cfg, adapter_key)
    task = tasks_lib.Task(kind=kind, apply_fn=lora_apply, init_fn=init_fn, init_args=base_args,
                          partition=lora.partition, combine=lora.combine, model_config=model_cfg)
  jax.eval_shape(task.init_fn, task.init_args)  # A bad LoRA target is a ValueError now, not later.
  return task


def _load_pools(config, model_cfg):
  data = config.data
  seq_len = data.seq_len or getattr(model_cfg, "max_len", 0) or None
  if seq_len and hasattr(model_cfg, "max_len") and seq_len > model_cfg.max_len:
    raise ValueError(f"config.data.seq_len={seq_len} exceeds the model's max_len={model_cfg.max_len}")
  kwargs = dict(data_dir=data.data_dir or None, source_dir=data.source_dir or None, seq_len=seq_len,
                tokenizer=tokenizer_lib.spec_for(data.tokenizer, config.init.checkpoint),
                overlong=data.overlong)
  train_pool = data_lib.load_pool(data.name, data.split, limit=data.limit or None, skip=data.skip,
                                  **kwargs)
  eval_pool = data_lib.load_pool(data.name, data.eval_split, limit=data.eval_limit or None, **kwargs)
  if train_pool.kind != kinds.get(config.model.kind).pool_kind:
    raise ValueError(f"dataset {data.name} holds {train_pool.kind} examples, which a "
                     f"{config.model.kind} model cannot train on")
  if data.label_noise > 0:  # The training pool only: evaluation stays clean.
    labels = train_pool.arrays.get("label")
    num_classes = getattr(model_cfg, "num_classes", 0) or (int(labels.max()) + 1 if labels is not None
                                                           else 0)
    train_pool = label_noise.with_label_noise(train_pool, num_classes, data.label_noise,
                                              data.label_noise_seed)
  vocab_size = getattr(model_cfg, "vocab_size", None)
  for pool in (train_pool, eval_pool):
    if vocab_size and pool.kind == "tokens" and int(pool.arrays["tokens"].max()) >= vocab_size:
      raise ValueError(f"{data.name}/{pool.split} holds token id {int(pool.arrays['tokens'].max())} but "
                       f"the model's vocab_size is {vocab_size}; match config.model.vocab_size to the "
                       "tokenizer (config.data.tokenizer)")
  return train_pool, eval_pool


def make_teacher(config, pool_size: int, labels=None) -> selection.Teacher:
  """The configured preset; group granularities default to the training batch size as group size.
  config.teacher.class_balanced passes the pool's class ids (`labels` int[pool_size]) as the preset's
  `classes` (class-balanced picks)."""
  overrides = dict(config.teacher.overrides)
  if config.teacher.get("class_balanced", False):
    _require(labels is not None, "config.teacher.class_balanced needs a training pool with class "
             "labels (an image classification task)")
    overrides["classes"] = labels
  grouped = (config.teacher.name in _GROUPED_PRESETS
             or overrides.get("granularity", "pool") != "pool")
  if grouped:
    overrides.setdefault("batch_size", config.train.batch_size)
    _require(config.teacher.logical_shards == 1,
             f"teacher {config.teacher.name!r} selects within groups cut from one shuffle of the "
             "whole pool: set config.teacher.logical_shards=1 (its state then stays replicated on "
             "a mesh of several devices)")
  return selection.make_teacher(config.teacher.name, pool_size=pool_size,
                                total_epochs=config.train.epochs,
                                logical_shards=config.teacher.logical_shards, **overrides)


def _check_irreducible(config, teacher: selection.Teacher) -> None:
  """score_kind "reducible_loss" needs config.teacher.irreducible_from, the workdir of a finished run."""
  reducible, source = teacher.score_kind == "reducible_loss", config.teacher.get("irreducible_from", "")
  if source and not reducible:
    raise ValueError("config.teacher.irreducible_from is set but the teacher's score_kind is "
                     f"{teacher.score_kind!r}; set config.teacher.overrides.score_kind='reducible_loss'")
  if not reducible:
    return
  _require(bool(source), "score_kind='reducible_loss' needs config.teacher.irreducible_from (the "
           "workdir of a finished run of the same model)")
  if not (pathlib.Path(source) / "final_params").is_dir():
    raise FileNotFoundError(f"config.teacher.irreducible_from={source!r} is not the workdir of a "
                            "finished attent_jax run (no final_params/)")


def make_optimizer(config, steps_per_epoch, timetable: selection.Timetable | None = None):
  """AdamW on a warmup-cosine schedule over the run's steps; with a `timetable` whose lr_floor is set
  (GraNT), the LR is raised back to lr_floor * learning_rate after each re-selection epoch.

  config.train.schedule_over="steps": `steps_per_epoch` are the steps the run will take, the schedule
  decays over their sum and lives inside the optimizer. "epochs": `steps_per_epoch` are a full-data
  run's (nominal) steps, the schedule decays over their sum minus one (`epoch_schedule`), and the
  optimizer's own LR is 1: the train step scales its updates by the LR fed from the host.
  Returns (optimizer, schedule).
  """
  train = config.train
  over_epochs = train.get("schedule_over", "steps") == "epochs"
  total_steps = max(sum(steps_per_epoch), 1)
  decay_steps = max(total_steps - 1, 1) if over_epochs else total_steps
  warmup = min(train.warmup_steps, max(decay_steps - 1, 0))
  schedule = optax.warmup_cosine_decay_schedule(
      init_value=0.0, peak_value=train.learning_rate, warmup_steps=warmup, decay_steps=decay_steps,
      end_value=train.learning_rate * train.min_learning_rate_ratio)
  if timetable is not None and timetable.lr_floor is not None:
    steps = lr_floor.raise_steps(timetable.phase == SELECT, steps_per_epoch)
    schedule = lr_floor.with_lr_floor(schedule, steps, timetable.lr_floor * train.learning_rate,
                                      total_steps)
  chain = [optax.clip_by_global_norm(train.grad_clip)] if train.grad_clip else []
  chain.append(optax.adamw(1.0 if over_epochs else schedule, b1=0.9, b2=0.98,
                           weight_decay=train.weight_decay))
  return optax.chain(*chain), schedule


def fingerprint(config) -> dict:
  """What a checkpoint belongs to: the model, the data it trains on and the trainable set."""
  data = [config.data.name, config.data.split]
  if config.data.get("label_noise", 0.0) > 0:  # (Kept out when off: older fingerprints still match.)
    data += [config.data.label_noise, config.data.label_noise_seed]
  return json.loads(json.dumps({"model": dict(config.model), "lora": dict(config.lora),
                                "data": data}, default=list))


def build(config: ml_collections.ConfigDict) -> Experiment:
  """Validates `config` and builds every piece of the run. Compiles nothing."""
  validate(config)
  mesh = sharding_lib.make_mesh(config.train.num_devices or None)
  task = build_task(config, mesh)  # A checkpoint's config.json defines the model the data must fit.
  train_pool, eval_pool = _load_pools(config, task.model_config)
  _require(config.train.batch_size <= train_pool.size,
           f"config.train.batch_size={config.train.batch_size} exceeds the pool of {train_pool.size}")
  teacher = make_teacher(config, train_pool.size, train_pool.arrays.get("label"))
  data_devices = mesh.shape[sharding_lib.DATA_AXIS]
  if config.teacher.logical_shards % data_devices:
    logging.warning("config.teacher.logical_shards=%d is not a multiple of the %d devices of the "
                    "data axis: the teacher's state and plan stay replicated on every device",
                    config.teacher.logical_shards, data_devices)
  _check_irreducible(config, teacher)
  steps = tuple(math.ceil(teacher.expected_count(epoch) / config.train.batch_size)
                for epoch in range(config.train.epochs))
  epoch_rates = None
  if config.train.schedule_over == "epochs":
    full_batches = math.ceil(train_pool.size / config.train.batch_size)
    optimizer, schedule = make_optimizer(config, (full_batches,) * config.train.epochs,
                                         teacher.timetable)
    epoch_rates = epoch_schedule.EpochProgressRates(schedule, full_batches)
  else:
    optimizer, schedule = make_optimizer(config, steps, teacher.timetable)
  batch_sharding = sharding_lib.batch_sharding(mesh)
  return Experiment(
      config=config, mesh=mesh, train_pool=train_pool, eval_pool=eval_pool,
      # The train step records reducible losses from each batch's irreducible ones (train.irreducible).
      batcher=data_lib.Batcher(train_pool, config.train.batch_size, batch_sharding,
                               columns=("irreducible",) if teacher.score_kind == "reducible_loss"
                               else ()),
      score_batcher=data_lib.Batcher(train_pool, config.train.eval_batch_size, batch_sharding),
      eval_batcher=data_lib.Batcher(eval_pool, config.train.eval_batch_size, batch_sharding),
      task=task, teacher=teacher, optimizer=optimizer, learning_rate=schedule,
      steps_per_epoch=steps, fingerprint=fingerprint(config), epoch_learning_rates=epoch_rates,
      host_eval=task.kind.make_host_eval(config, task, eval_pool) if task.kind.make_host_eval else None)

