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

Layout: every pool-sized array (state, randomness, plan) is [L, M], L = `logical_shards` (default 1),
example i at (i % L, i // L) (`selection.layout`). The state may be sharded over a mesh axis on dim 0
(`init(seed, sharding=NamedSharding(mesh, P("data")))`, Explicit mode, the number of devices dividing
L): `next_epoch` then keeps every pool-sized array, the plan's included, sharded, and no device holds
more than its own shards (the pool-wide rules; the group rules need L = 1). Randomness: epoch e uses
fold_in(state.key, e) and per-entry bits that do not depend on the sharding, so for a fixed L the
selections and the training order are the same on any number of devices, and a teacher restored from a
saved state makes exactly the selections of an uninterrupted one.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.checks import require_choice
from attent_jax.selection import guards, rules, sharded
from attent_jax.selection.layout import Layout
from attent_jax.selection.plan import Plan
from attent_jax.selection.recipes import Randomness, Recipe
from attent_jax.selection.scores import SCORE_KINDS
from attent_jax.selection.timetable import FULL, SELECT


class TeacherState(NamedTuple):
  """The teacher's whole mutable state: a pytree of arrays, checkpointed with the rest of training.
  Pool-sized arrays are in the teacher's layout [L, M] (`Teacher.layout.by_example` reads one by id).

  scores  dict kind -> f32[L, M]: latest recorded score of each example (0 where never recorded).
  age     dict kind -> int32[L, M]: `next_epoch` calls since the score was recorded; -1 never recorded.
  order   int32[L, M]: the current plan's example ids, each shard's kept examples first.
  weights f32[L, M]: the current plan's loss weight of each example (by entry, like scores).
  counts  int32[L]: how many of each row of `order` the current plan trains on.
  epoch   int32[]: the next epoch `next_epoch` will plan (0 after `init`).
  key     uint32[...]: raw data of the base PRNG key (`jax.random.key_data`), default implementation.
  """
  scores: dict
  age: dict
  order: jax.Array
  weights: jax.Array
  counts: jax.Array
  epoch: jax.Array
  key: jax.Array


@functools.partial(jax.jit, static_argnames="kind")
def _write(state: TeacherState, indices, scores, mask, *, kind: str) -> TeacherState:
  """The scatter behind `Teacher.record` (module-level: one compile shared by all teachers)."""
  cache = state.scores[kind]
  shards, slots = cache.shape
  indices, scores, mask = (sharded.replicate(x) for x in (indices, scores, mask))
  # padded (and out-of-range, even negative) entries go out of bounds and are dropped
  inside = mask & (indices >= 0) & (indices < shards * slots)
  shard = jnp.where(inside, indices % shards, shards)
  slot = jnp.where(inside, indices // shards, slots)
  out = jax.typeof(cache).sharding if sharded.leading_axes(cache) is not None else None
  new_scores = cache.at[shard, slot].set(scores, mode="drop", out_sharding=out)
  new_age = state.age[kind].at[shard, slot].set(0, mode="drop", out_sharding=out)
  return state._replace(scores={**state.scores, kind: new_scores}, age={**state.age, kind: new_age})


@functools.partial(jax.jit, static_argnames="pool_size", keep_unused=True)
def epoch_randomness(key_data: jax.Array, epoch: jax.Array, like: jax.Array, *, pool_size: int
                     ) -> Randomness:
  """An epoch's random draw from the state's key data (`Randomness`), shaped and sharded like `like`
  (the state's `order`). `rules.epoch_randomness` of fold_in(key, epoch): compiled once per layout,
  for every teacher."""
  return Randomness(*rules.epoch_randomness(jax.random.wrap_key_data(key_data), epoch, like,
                                            pool_size))


class Teacher:
  """A teacher: a `Recipe` for a pool of `pool_size` examples in `logical_shards` logical shards
  (`selection.layout`). Immutable; safe to share; all state lives in `TeacherState`. Built by
  `presets.make_teacher`."""

  def __init__(self, name: str, pool_size: int, recipe: Recipe, logical_shards: int = 1):
    self.name, self.recipe, self.pool_size = name, recipe, pool_size
    self.layout = Layout(pool_size, logical_shards)
    if logical_shards > 1 and getattr(recipe.rule, "whole_pool_order", False):
      raise ValueError(f"teacher {name!r} selects within groups cut from one permutation of the "
                       f"whole pool; it needs logical_shards=1, got {logical_shards}")
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
    or raw uint32 key data. `sharding` (optional): where to place the [L, M] arrays, e.g.
    NamedSharding(mesh, P("data")) (dim 0 split: the shard count must divide L), and `counts` with
    them; `epoch` and `key` are then replicated on the same mesh."""
    layout = self.layout
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
      key = jax.random.key(int(key))
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    ids = layout.ids()
    state = TeacherState(
        scores={k: jnp.zeros(layout.shape, jnp.float32) for k in self.score_kinds},
        age={k: jnp.full(layout.shape, -1, jnp.int32) for k in self.score_kinds},
        order=jnp.asarray(ids), weights=jnp.ones(layout.shape, jnp.float32),
        counts=jnp.asarray((ids < layout.pool_size).sum(1), jnp.int32), epoch=jnp.int32(0),
        key=jnp.asarray(data, jnp.uint32))
    if sharding is None:
      return state
    shards = np.prod([sharding.mesh.shape[a] for a in jax.tree.leaves(tuple(sharding.spec))] or [1])
    if layout.shards % shards:
      raise ValueError(f"the teacher's logical_shards ({layout.shards}) must be a multiple of the "
                       f"{shards} shards of `sharding` (make_teacher(..., logical_shards=...)), or "
                       "keep the teacher state replicated")
    scalar = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    by_shard = {"epoch": scalar, "key": scalar}  # the rest has one row (or entry) per logical shard
    return TeacherState(**{field: jax.device_put(value, by_shard.get(field, sharding))
                           for field, value in state._asdict().items()})

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
    random draw (`epoch_randomness`, one compile per layout, shared by all teachers) and the plan
    (one compile per teacher for the whole run). Inside `jit` (e.g. `jax.jit(teacher.next_epoch)`) it
    traces the same computation. Shapes never depend on the epoch (ratios are table lookups, the kept
    counts traced ints). The plan has the state's sharding. Past the last epoch: ValueError outside
    jit; inside, full-data epochs (or a checkify error under `selection.jit_checks()`).
    """
    self.check_state(state)
    randomness = epoch_randomness(state.key, state.epoch, state.order, pool_size=self.pool_size)
    if guards.is_traced(state.epoch):
      return self._plan(state, randomness)
    return self._next_epoch_jit(state, randomness)

  def current_plan(self, state: TeacherState) -> Plan:
    """The plan `next_epoch` last returned, rebuilt from the state (to resume inside an epoch)."""
    epoch = jnp.maximum(state.epoch - 1, 0)
    weights = jnp.take_along_axis(state.weights, state.order // self.layout.shards, axis=1)
    return Plan(state.order, weights, state.counts, jnp.asarray(self._phase)[epoch] == SELECT, epoch)

  def _plan(self, state: TeacherState, randomness: Randomness) -> tuple[TeacherState, Plan]:
    """The deterministic part of `next_epoch`, given the epoch's random draw. Every step acts on the
    [L, M] layout elementwise, row by row, or by bisection (`sharded.top_count_mask`), so it keeps the
    state's sharding."""
    shards = self.layout.shards
    sharding = jax.typeof(state.order).sharding if sharded.leading_axes(state.order) else None
    ids = sharded.example_ids(self.layout.shape, sharding)
    valid = ids < self.pool_size
    epoch = jnp.clip(state.epoch, 0, self.total_epochs)
    phase = jnp.asarray(self._phase)[epoch]
    if self._selects:  # padding: seen, scored -inf (ranked last by every rule)
      seen = {k: (state.age[k] >= 0) | ~valid for k in self.score_kinds}
      scores = {k: jnp.where(valid, v, -jnp.inf) for k, v in state.scores.items()}
      selected, selected_weights = self.recipe.rule(scores, seen, randomness, epoch)
    else:  # this timetable never selects
      selected, selected_weights = valid, jnp.ones(valid.shape, jnp.float32)
    previous = jax.vmap(lambda order, count: jnp.zeros(order.shape, bool).at[order // shards].set(
        jnp.arange(order.shape[0]) < count))(state.order, state.counts)
    kept = valid & jnp.where(phase == FULL, True, jnp.where(phase == SELECT, selected, previous))
    weights = jnp.where(phase == FULL, 1.0, jnp.where(
        phase == SELECT, selected_weights, state.weights)).astype(jnp.float32)
    slots = jax.vmap(rules.kept_first)(randomness.perm, kept)
    order = jnp.take_along_axis(ids, slots, axis=1)
    counts = kept.sum(1, dtype=jnp.int32)
    age = {k: jnp.where(a >= 0, a + 1, a) for k, a in state.age.items()}
    new_state = state._replace(age=age, order=order, weights=weights, counts=counts,
                               epoch=state.epoch + 1)
    return new_state, Plan(order, jnp.take_along_axis(weights, slots, axis=1), counts,
                           phase == SELECT, epoch)

  def __repr__(self) -> str:
    return (f"Teacher({self.name!r}, pool_size={self.pool_size}, total_epochs={self.total_epochs}, "
            f"logical_shards={self.layout.shards}, score_kind={self.score_kind!r}, "
            f"rule={self.recipe.rule!r})")
