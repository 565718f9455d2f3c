"""NINT scoring in training: trainable parameters only, dict outputs, one compile per run."""

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax import kinds, losses, tasks
from attent_jax.train.ntk_scores import pool_ntk_scores

B, N, P, R = 5, 4, 3, 2
TRACES = {"apply": 0}


def _tiny_mae(params, batch, *, train=False, rng=None):
  """A dict-output model like the MAE's: {"pred" f32[B,N,P], "target" f32[B,N,P], "masked" bool}."""
  del train, rng
  TRACES["apply"] += 1  # runs only while tracing: counts compiles
  weight = params["base"]["w"] + params["lora"]["a"] @ params["lora"]["b"]
  patches = batch["patches"]
  masked = jnp.broadcast_to(jnp.arange(N) % 2 == 0, patches.shape[:2])
  return {"pred": jnp.tanh(patches @ weight), "target": 0.5 * patches, "masked": masked}


def _lora_partition(params):
  return params["lora"], params["base"]


def _lora_combine(trainable, frozen):
  return {"base": frozen, "lora": trainable}


def _setup(seed=0):
  rng = np.random.default_rng(seed)
  params = {"base": {"w": rng.standard_normal((P, P)).astype(np.float32)},
            "lora": {"a": rng.standard_normal((P, R)).astype(np.float32),
                     "b": rng.standard_normal((R, P)).astype(np.float32)}}
  task = tasks.Task(kind=kinds.get("mae"), apply_fn=_tiny_mae, init_fn=tasks.given,
                    init_args=params, partition=_lora_partition, combine=_lora_combine)
  features = {"patches": rng.standard_normal((B, N, P)).astype(np.float32),
              "mask": np.ones(B, bool)}
  return task, params, features


def _dense_reference(trainable, frozen, features):
  """||J_i J^T r|| with J the Jacobian of "pred" with respect to the adapters only (jacrev)."""
  flat, unravel = jax.flatten_util.ravel_pytree(trainable)
  pred = lambda f: _tiny_mae(_lora_combine(unravel(f), frozen), features)["pred"]
  outputs = _tiny_mae(_lora_combine(trainable, frozen), features)
  jac = np.asarray(jax.jacrev(pred)(flat), np.float64).reshape(B * N * P, -1)
  loss = lambda p: losses.mae_reconstruction(p, outputs["target"], outputs["masked"],
                                             features["mask"]).sum()
  r = np.asarray(jax.grad(loss)(outputs["pred"]), np.float64).reshape(-1)
  moved = (jac @ (jac.T @ r)).reshape(B, -1)
  return np.linalg.norm(moved, axis=1)


def test_scores_take_the_trainable_parameters_only_and_accept_dict_outputs():
  task, params, features = _setup()
  trainable, frozen = task.partition(params)
  scores = pool_ntk_scores(task, trainable, frozen, features, chunk_size=2)
  assert scores.shape == (B,) and scores.dtype == np.float32
  np.testing.assert_allclose(scores, _dense_reference(trainable, frozen, features), rtol=1e-4)
  everything = pool_ntk_scores(tasks.Task(kind=kinds.get("mae"), apply_fn=_tiny_mae,
                                          init_fn=tasks.given, init_args=params),
                               params, {}, features, chunk_size=2)
  assert not np.allclose(everything, scores)  # the frozen base would change the kernel


def test_a_second_scoring_call_does_not_recompile():
  task, params, features = _setup(1)
  trainable, frozen = task.partition(params)
  first = pool_ntk_scores(task, trainable, frozen, features, chunk_size=None)
  traces = TRACES["apply"]
  moved = jax.tree.map(lambda a: a + 0.1, trainable)  # the next epoch's parameters
  second = pool_ntk_scores(task, moved, frozen, features, chunk_size=None)
  assert TRACES["apply"] == traces and not np.allclose(first, second)
