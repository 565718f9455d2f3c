"""RHO-LOSS's irreducible losses: the per-example losses of a model trained elsewhere, for the
"reducible_loss" score (training loss minus irreducible loss; Mindermann et al., ICML 2022).

`config.teacher.irreducible_from` names the workdir of a finished attent_jax run of the same model
(trained on a held-out split, e.g. `config.data.skip` = `config.data.limit` for the examples after the
pool, or an earlier, shorter run); its final params score the training pool
once, when the run starts (timed as scoring; a resumed run recomputes the same values). Examples that
are learnable but not yet learnt then rank first, while noisy or ambiguous ones (high loss under both
models) do not. Both sources of scores record it: a fresh pass of kind "reducible_loss" records loss -
irreducible relative to the pool's mean (`phases.score_pool`), and the train step, whose batches carry
each example's irreducible loss (`Batcher` column "irreducible"), records loss - irreducible relative
to its batch's mean (the cached score, free, de-biased in time like "relative_loss"). Rankings are
unchanged by the mean: it only makes the two kinds of record comparable.
"""

from __future__ import annotations

import pathlib

import jax
import numpy as np

from attent_jax import checkpoint as checkpoint_lib
from attent_jax.experiment import Experiment
from attent_jax.train.steps import CompiledSteps


def final_params_dir(workdir: str) -> pathlib.Path:
  """workdir/final_params, or FileNotFoundError naming config.teacher.irreducible_from."""
  path = pathlib.Path(workdir) / "final_params"
  if not path.is_dir():
    raise FileNotFoundError(f"config.teacher.irreducible_from={workdir!r} is not the workdir of a "
                            "finished attent_jax run (no final_params/)")
  return path


def pool_losses(exp: Experiment, steps: CompiledSteps, state) -> np.ndarray:
  """f32[N]: the irreducible model's loss on every pool example (no grad, deterministic).

  state: the run's (placed) TrainState, whose params are swapped for the irreducible model's so the
  run's compiled scoring pass serves. Raises IncompatibleCheckpointError for another architecture."""
  pool = exp.train_pool
  params = checkpoint_lib.load_params(final_params_dir(exp.config.teacher.irreducible_from),
                                      exp.task.combine(state.params, state.frozen))
  trainable, frozen = exp.task.partition(params)
  other = jax.device_put(state._replace(params=trainable, frozen=frozen), steps.state_sharding)
  chunks = [steps.score(other, batch)
            for batch in exp.score_batcher.batches(np.arange(pool.size, dtype=np.int32))]
  return np.concatenate([np.asarray(jax.device_get(c)) for c in chunks])[:pool.size].astype(np.float32)
