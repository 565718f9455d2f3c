"""Numpy references shared by the selection tests."""

import numpy as np


def np_hard_order(scores) -> np.ndarray:
  """Reference ranking: descending, NaN and -inf last, ties (and -0.0 vs 0.0) to the lower index."""
  keys = np.where(np.isnan(scores), -np.inf, np.asarray(scores, np.float64))
  keys = np.where(keys == 0, 0.0, keys)
  return np.argsort(-keys, kind="stable")


# ------------------------------------------------------------------ a deterministic toy training run

POOL, EPOCHS, BATCH = 96, 20, 8
PRESET_ARGS = {"grant_b": {"batch_size": BATCH}, "grant_s": {"batch_size": BATCH}}
_TEACHERS: dict = {}
_RUNS: dict = {}


def fresh_scores(epoch: int) -> np.ndarray:
  """What a scoring pass 'computes' before `epoch`: a tie-heavy function of (example, epoch)."""
  return ((np.arange(POOL) * 13 + epoch * 7) % 23).astype(np.float32)


def training_losses(epoch: int) -> np.ndarray:
  return ((np.arange(POOL) * 37 + epoch * 11) % 17).astype(np.float32) / 4


def teacher(name: str, **overrides):
  """One teacher per (preset, overrides) for the whole test session: one compile of next_epoch."""
  key = (name, tuple(sorted(overrides.items())))
  if key not in _TEACHERS:
    from attent_jax import selection
    _TEACHERS[key] = selection.make_teacher(
        name, pool_size=POOL, total_epochs=EPOCHS, **{**PRESET_ARGS.get(name, {}), **overrides})
  return _TEACHERS[key]


def drive(t, epochs: int = EPOCHS, sharding=None, state=None, start: int = 0):
  """Runs the documented loop for `epochs` epochs from `start`: fresh passes when asked, next_epoch,
  then the trained examples' losses recorded (one masked record of fixed shape [N]). Returns
  (final state, list of host plans)."""
  import jax

  put = (lambda x: jax.device_put(x, sharding)) if sharding is not None else (lambda x: x)
  state = t.init(jax.random.key(0), sharding) if state is None else state
  indices = put(np.arange(POOL, dtype=np.int32))
  plans = []
  for epoch in range(start, start + epochs):
    if t.wants_fresh_scores(epoch):
      state = t.record(state, indices, put(fresh_scores(epoch)), kind=t.score_kind)
    state, plan = t.next_epoch(state)
    plan = jax.device_get(plan)
    plans.append(plan)
    # One masked record of fixed shape [L * M]: every row's trained entries (padding ids masked out).
    trained = np.asarray(plan.indices, np.int32)
    mask = np.arange(trained.shape[1])[None, :] < np.asarray(plan.counts)[:, None]
    trained = np.where(mask, trained, 0).reshape(-1)
    state = t.record(state, put(trained), put(training_losses(epoch)[trained]), put(mask.reshape(-1)),
                     kind="loss")
  return state, plans


def unsharded_run(name: str, **overrides):
  """The 20-epoch single-device run of a preset, (final state, plans), computed once per session."""
  key = (name, tuple(sorted(overrides.items())))
  if key not in _RUNS:
    _RUNS[key] = drive(teacher(name, **overrides))
  return _RUNS[key]


def unsharded_plans(name: str, **overrides):
  return unsharded_run(name, **overrides)[1]
