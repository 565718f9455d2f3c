"""ANTK drift experiments: train a config with and without its teacher, recording a probe kernel.

  probe_recorder(config, size)        a DriftRecorder on the first `size` training-pool examples
  record_runs(config, workdir, ...)   trains once per teacher preset with that recorder

`experiments/antk_spectrum.py` runs these and `experiments.antk_report.save_report`. (This lives beside
the binary, not in `attent_jax.ntk`, so that the ANTK library depends on nothing of the training stack.)
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import jax.numpy as jnp
import ml_collections
import numpy as np

from attent_jax import data as data_lib
from attent_jax import experiment, kinds, train
from attent_jax.ntk import DriftRecorder, lora_only

NO_TEACHER = "full_data"


def probe_recorder(config: ml_collections.ConfigDict, size: int) -> DriftRecorder:
  """A DriftRecorder on the first `size` examples of the config's training pool.

  The probe is in model-batch format (as the batcher makes it). The recorded function: a
  classifier's logits (with the labels, for kernel-target alignment); a language model's
  next-token logits at the last position (all positions would make the kernel L times dearer);
  a masked autoencoder's "pred" output. With LoRA, the kernel is over the adapters only (the
  parameters that train).
  """
  model_cfg = experiment.model_config(config)
  seq_len = config.data.seq_len or getattr(model_cfg, "max_len", 0) or None
  pool = data_lib.load_pool(config.data.name, config.data.split, limit=size,
                            data_dir=config.data.data_dir or None,
                            source_dir=config.data.source_dir or None, seq_len=seq_len)
  features = data_lib.model_features(pool, np.arange(min(size, pool.size)))
  probe = {key: jnp.asarray(value) for key, value in features.items()}
  kind = kinds.get(config.model.kind)
  return DriftRecorder(probe, labels=probe[kind.ntk_labels] if kind.ntk_labels else None,
                       output_fn=kind.ntk_output,
                       param_filter=lora_only if config.lora.enabled else None)


def record_runs(config: ml_collections.ConfigDict, workdir: str | pathlib.Path, *,
                probe_size: int = 32, teachers: Sequence[str] | None = None,
                progress: bool = False) -> dict[str, DriftRecorder]:
  """Trains `config` once per teacher preset (default: the config's and "full_data"), recording the
  probe ANTK at initialisation and after every epoch. Runs go to workdir/<teacher>."""
  teachers = teachers or list(dict.fromkeys([config.teacher.name, NO_TEACHER]))
  recorders = {}
  for name in teachers:
    run_config = ml_collections.ConfigDict(config.to_dict())
    run_config.teacher.name = name
    if name != config.teacher.name:
      run_config.teacher.overrides = {}
    recorder = probe_recorder(run_config, probe_size)
    task = experiment.build_task(run_config)  # the same initial params the run starts from
    recorder(0, 0, task.params, task.apply_fn)
    train.run(run_config, pathlib.Path(workdir) / name, callbacks=[recorder], progress=progress)
    recorders[name] = recorder
  return recorders
