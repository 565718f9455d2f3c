"""The teacher: a recipe (timetable + pure rule, `recipes.Recipe`) plus a pytree state (`TeacherState`).

Protocol (one call of `next_epoch` per epoch; everything but the host queries is jittable):

    teacher = selection.make_teacher("attent_complex", pool_size=N, total_epochs=E, **overrides)
    state = teacher.init(seed)                             # optionally init(seed, sharding=NamedSharding)
    for epoch in range(E):
      if teacher.wants_fresh_scores(epoch):                # host bool from the static timetable
        scores = <no-grad pass over all N examples computing teacher.score_kind>
        state = teacher.record(state, indices_N, scores_N, mask_N, kind=teacher.score_kind)
      state, plan = teacher.next_epoch(state)              # compiles once for the whole run
      for indices, mask, weights in plan.batches(B):       # the kept examples, in training order
        # loss = mean over mask of weights * per-example loss; inside the jitted train step, record
        # the step's own per-example losses (free, stale by one update):
        state = teacher.record(state, indices, losses, mask, kind="loss")

A "cached" teacher whose score_kind is not "loss" (e.g. "discrepancy") needs the train step to record
that kind too (`selection.discrepancy` of the step's logits is as free as the loss).

`kind` is required so that scores of different kinds never mix: recording a kind this teacher does not
track (`teacher.score_kinds`) is a no-op, so a train step can always record its losses. The cache holds
the latest recorded score of each example; `age` counts the `next_epoch` calls since (-1: never seen);
never-seen examples rank ahead of every scored one.
`teacher.current_plan(state)` rebuilds the current epoch's plan, for resuming in the middle of an epoch.
Bad inputs raise ValueError; inside `jit` under `selection.jit_checks()` (see `guards`).

Randomness: epoch e uses fold_in(state.key, e), so a teacher restored from a saved state makes exactly
the selections of an uninterrupted one, on one device or many. State arrays of pool size may be sharded
over a mesh axis (Explicit mode); `next_epoch` keeps their sharding and returns a replicated plan.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.checks import require_choice
from attent_jax.selection import guards, rules, sharded
from attent_jax.selection.plan import Plan
from attent_jax.selection.recipes import Randomness, Recipe
from attent_jax.selection.scores import SCORE_KINDS
from attent_jax.selection.timetable import FULL, SELECT


class TeacherState(NamedTuple):
  """The teacher's whole mutable state: a pytree of arrays, checkpointed with the rest of training.

  scores  dict kind -> f32[N]: latest recorded score of each example (0 where never recorded).
  age     dict kind -> int32[N]: `next_epoch` calls since the score was recorded; -1 never recorded.
  order   int32[N]: the current plan's ordering of the pool (kept examples first).
  weights f32[N]: the current plan's loss weight of each example (indexed by example).
  count   int32[]: how many of `order` the current plan trains on.
  epoch   int32[]: the next epoch `next_epoch` will plan (0 after `init`).
  key     uint32[...]: raw data of the base PRNG key (`jax.random.key_data`), default implementation.
  """
  scores: dict
  age: dict
  order: jax.Array
  weights: jax.Array
  count: jax.Array
  epoch: jax.Array
  key: jax.Array


@functools.partial(jax.jit, static_argnames="kind")
def _write(state: TeacherState, indices, scores, mask, *, kind: str) -> TeacherState:
  """The scatter behind `Teacher.record` (module-level: one compile shared by all teachers)."""
  cache = state.scores[kind]
  n = cache.shape[0]
  indices, scores, mask = (sharded.replicate(x) for x in (indices, scores, mask))
  # padded (and out-of-range, even negative) entries go out of bounds and are dropped
  indices = jnp.where(mask & (indices >= 0) & (indices < n), indices, n)
  out = jax.typeof(cache).sharding if sharded.leading_axes(cache) is not None else None
  new_scores = cache.at[indices].set(scores, mode="drop", out_sharding=out)
  new_age = state.age[kind].at[indices].set(0, mode="drop", out_sharding=out)
  return state._replace(scores={**state.scores, kind: new_scores}, age={**state.age, kind: new_age})


@functools.partial(jax.jit, static_argnames="n")
def epoch_randomness(key_data: jax.Array, epoch: jax.Array, *, n: int) -> Randomness:
  """An epoch's random draw from the state's key data (`Randomness`: perm int32[n], uniform f32[n]),
  replicated. `rules.epoch_randomness` of fold_in(key, epoch): compiled once per pool size, for every
  teacher."""
  return Randomness(*rules.epoch_randomness(jax.random.wrap_key_data(key_data), epoch, n))


class Teacher:
  """A teacher: a `Recipe` for a pool of `pool_size` examples. Immutable; safe to share; all state
  lives in `TeacherState`. Built by `presets.make_teacher`."""

  def __init__(self, name: str, pool_size: int, recipe: Recipe):
    self.name, self.recipe, self.pool_size = name, recipe, pool_size
    self.timetable = table = recipe.timetable
    self.total_epochs = table.total_epochs
    self.score_kind: str = recipe.score_kind
    self.reads: tuple[str, ...] = recipe.kinds_read()
    self.score_kinds: tuple[str, ...] = tuple(dict.fromkeys((recipe.score_kind, *self.reads)))
    self._counts = np.where(table.phase == FULL, pool_size, recipe.counts_for(pool_size))
    self._selects = bool((table.phase == SELECT).any())
    # One row per epoch plus a final FULL row for calls past the last epoch.
    self._phase = np.append(table.phase, FULL).astype(np.int32)
    self._next_epoch_jit = jax.jit(self._plan)

  # ---------------------------------------------------------------- host queries

  def wants_fresh_scores(self, epoch: int) -> bool:
    """Whether the loop should run a fresh scoring pass (of `score_kind`) before `epoch` (host)."""
    return bool(0 <= epoch < self.total_epochs and self.timetable.fresh[epoch])

  def expected_count(self, epoch: int) -> int:
    """Examples epoch `epoch` trains on: exact, except InfoBatch's pruned epochs (the expectation when
    half the pool scores below the mean; the true share depends on the scores). Host int."""
    if not 0 <= epoch < self.total_epochs:
      raise ValueError(f"epoch must lie in [0, {self.total_epochs}), got {epoch!r}")
    return int(round(self._counts[epoch]))

  # ---------------------------------------------------------------- state

  def init(self, key: jax.Array, sharding: jax.sharding.NamedSharding | None = None) -> TeacherState:
    """A fresh state: nothing scored, full-pool plan, epoch 0. `key`: an int seed, a `jax.random.key`
    or raw uint32 key data. `sharding` (optional): where to place the pool-size arrays, e.g.
    NamedSharding(mesh, P("data")); the scalars are then replicated on the same mesh."""
    n = self.pool_size
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
      key = jax.random.key(int(key))
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    state = TeacherState(
        scores={k: jnp.zeros(n, jnp.float32) for k in self.score_kinds},
        age={k: jnp.full(n, -1, jnp.int32) for k in self.score_kinds},
        order=jnp.arange(n, dtype=jnp.int32), weights=jnp.ones(n, jnp.float32),
        count=jnp.int32(n), epoch=jnp.int32(0), key=jnp.asarray(data, jnp.uint32))
    if sharding is None:
      return state
    shards = np.prod([sharding.mesh.shape[a] for a in jax.tree.leaves(tuple(sharding.spec))] or [1])
    if n % shards:
      raise ValueError(f"pool_size {n} must be a multiple of the {shards} shards of `sharding` "
                       "(pad the pool, or keep the teacher state replicated)")
    scalar = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    return jax.tree.map(lambda x: jax.device_put(x, sharding if x.ndim == 1 and x.shape[0] == n
                                                 and x is not state.key else scalar), state)

  def record(self, state: TeacherState, indices: jax.Array, scores: jax.Array,
             mask: jax.Array | None = None, *, kind: str) -> TeacherState:
    """Writes `scores` f32[B] of kind `kind` for examples `indices` int[B] where `mask` bool[B] is
    True (padded entries are not written; indices within a call should be distinct). Sets their age to
    0. A kind this teacher does not track is ignored. A scatter: cheap, pure, jittable (call it inside
    the train step); keeps the cache's sharding.

    Raises ValueError for an unknown kind, float indices or mismatched lengths, and, on concrete
    inputs, for a masked-in index outside [0, pool_size) or a non-finite score. Traced, those two are
    checkify checks under `selection.jit_checks()`; without it, out-of-range entries are dropped
    (see `guards`)."""
    require_choice("kind", kind, SCORE_KINDS)
    indices = guards.integer_indices(indices)
    scores = jnp.asarray(scores, jnp.float32).reshape(-1)
    mask = jnp.ones(indices.shape, bool) if mask is None else jnp.asarray(mask, bool).reshape(-1)
    if not indices.shape == scores.shape == mask.shape:
      raise ValueError(f"indices, scores and mask must have one length, got shapes {indices.shape}, "
                       f"{scores.shape}, {mask.shape}")
    guards.check_record(indices, scores, mask, self.pool_size)
    if kind not in self.score_kinds:
      return state
    return _write(state, indices, scores, mask, kind=kind)

  # ---------------------------------------------------------------- planning

  def check_state(self, state: TeacherState) -> None:
    """Guards of `next_epoch` (see `guards`): the epoch to plan is inside the timetable, and a subset
    epoch that ranks by score has some score of each kind it reads (else every example ties as unseen
    and the subset is the first ids). Concrete state: ValueError (reads two scalars off the device).
    Traced: checkify checks under `selection.jit_checks()`, else nothing."""
    guards.check_epoch(state.epoch, self.total_epochs)
    if not (self.reads and self._selects):
      return
    epoch = jnp.clip(state.epoch, 0, self.total_epochs)
    selects = jnp.asarray(self._phase)[epoch] == SELECT
    for kind in self.reads:
      guards.check_scored(selects, jnp.any(state.age[kind] >= 0), kind)

  def next_epoch(self, state: TeacherState) -> tuple[TeacherState, Plan]:
    """Plans epoch `state.epoch` and advances the counter: the planning entry point. Pure.

    Called outside `jit`, it checks the state (`check_state`) and runs two compiled calls: the epoch's
    random draw (`epoch_randomness`, one compile per pool size, shared by all teachers) and the plan
    (one compile per teacher for the whole run). Inside `jit` (e.g. `jax.jit(teacher.next_epoch)`) it
    traces the same computation. Shapes never depend on the epoch (ratios are table lookups, the kept
    count a traced int). Past the last epoch: ValueError outside jit; inside, full-data epochs (or a
    checkify error under `selection.jit_checks()`).
    """
    self.check_state(state)
    randomness = epoch_randomness(state.key, state.epoch, n=self.pool_size)
    if guards.is_traced(state.epoch):
      return self._plan(state, randomness)
    return self._next_epoch_jit(state, randomness)

  def current_plan(self, state: TeacherState) -> Plan:
    """The plan `next_epoch` last returned, rebuilt from the state (to resume inside an epoch)."""
    epoch = jnp.maximum(state.epoch - 1, 0)
    order = sharded.replicate(state.order)
    return Plan(order, sharded.replicate(state.weights)[order], state.count,
                jnp.asarray(self._phase)[epoch] == SELECT, epoch)

  def _plan(self, state: TeacherState, randomness: Randomness) -> tuple[TeacherState, Plan]:
    """The deterministic part of `next_epoch`, given the epoch's random draw."""
    n = self.pool_size
    epoch = jnp.clip(state.epoch, 0, self.total_epochs)
    phase = jnp.asarray(self._phase)[epoch]
    if self._selects:
      seen = {k: state.age[k] >= 0 for k in self.score_kinds}
      selected, selected_weights = self.recipe.rule(state.scores, seen, randomness, epoch)
    else:  # this timetable never selects
      selected, selected_weights = jnp.ones(n, bool), jnp.ones(n, jnp.float32)
    previous = rules.prefix_mask(sharded.replicate(state.order), state.count)
    kept = jnp.where(phase == FULL, True, jnp.where(phase == SELECT, selected, previous))
    weights = jnp.where(phase == FULL, 1.0, jnp.where(
        phase == SELECT, selected_weights, sharded.replicate(state.weights))).astype(jnp.float32)
    order = rules.kept_first(randomness.perm, kept)
    count = kept.sum(dtype=jnp.int32)
    age = {k: jnp.where(a >= 0, a + 1, a) for k, a in state.age.items()}
    new_state = state._replace(
        age=age, order=sharded.like(order, state.order), weights=sharded.like(weights, state.weights),
        count=count, epoch=state.epoch + 1)
    return new_state, Plan(order, weights[order], count, phase == SELECT, epoch)

  def __repr__(self) -> str:
    return (f"Teacher({self.name!r}, pool_size={self.pool_size}, total_epochs={self.total_epochs}, "
            f"score_kind={self.score_kind!r}, rule={self.recipe.rule!r})")
