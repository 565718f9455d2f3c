"""The teacher: a static recipe (`TeacherSpec`) plus a pytree state (`TeacherState`).

Protocol (one call of `next_epoch` per epoch; everything but the two host queries is jittable):

    teacher = selection.make_teacher("attent_complex", pool_size=N, total_epochs=E, **overrides)
    state = teacher.init(jax.random.key(seed))            # optionally init(key, sharding=NamedSharding)
    for epoch in range(E):
      if teacher.wants_fresh_scores(epoch):                # host bool from the static timetable
        scores = <no-grad pass over all N examples computing teacher.score_kind>
        state = teacher.record(state, indices_N, scores_N, mask_N, kind=teacher.score_kind)
      state, plan = teacher.next_epoch(state)              # jitted; compiles once for the whole run
      # train on plan.indices[:plan.count] in that order, in batches (the kept examples come first,
      # shuffled; group granularities keep each group's examples consecutive); example i's loss is
      # multiplied by plan.weights[i] (1 except InfoBatch's unbiased reweighting). Inside the jitted
      # train step, record the step's own per-example losses (free, stale by one update):
      state = teacher.record(state, batch_indices, batch_losses, batch_mask, kind="loss")

A "cached" teacher whose score_kind is not "loss" (e.g. "discrepancy") needs the train step to record
that kind too (`selection.discrepancy` of the step's logits is as free as the loss).

`kind` is required so that scores of different kinds never mix: recording a kind this teacher does not
track (`teacher.score_kinds`) is a no-op, so a train step can always record its losses. The cache holds
the latest recorded score of each example; `age` counts the `next_epoch` calls since (-1: never seen);
never-seen examples rank ahead of every scored one. `wants_fresh_scores` also accepts the state: it
then reads the epoch counter, which waits for the computation that produced it (pass the epoch to
avoid that).
`teacher.plan(state)` rebuilds the current epoch's plan, for resuming in the middle of an epoch.

Randomness: epoch e uses fold_in(state.key, e), so a teacher restored from a saved state makes exactly
the selections of an uninterrupted one, on one device or many. State arrays of pool size may be sharded
over a mesh axis (Explicit mode); `next_epoch` keeps their sharding and returns a replicated plan.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.checks import require_choice
from attent_jax.selection import guards, ranking, rules, sharded
from attent_jax.selection.schedules import count_for
from attent_jax.selection.scores import SCORE_KINDS
from attent_jax.selection.timetable import FULL, SELECT, Timetable

GRANULARITIES = ("pool", "within_batch", "batch", "super_batch")
SOURCES = ("fresh", "cached")


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


class Plan(NamedTuple):
  """One epoch's plan. indices int32[N] (train on indices[:count], in order), weights f32[N] (by example
  index), count int32[], reselected bool[] (a new subset was chosen this epoch: GraNT raises the LR back
  to its floor then), epoch int32[] (the epoch planned). Replicated."""
  indices: jax.Array
  weights: jax.Array
  count: jax.Array
  reselected: jax.Array
  epoch: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class TeacherSpec:
  """Everything static about a teacher. Built, and its arguments checked, by `presets.make_teacher`.

  score_kind: what the fresh pass computes ("loss", "discrepancy" or "ntk"); source: "fresh" (the
  timetable asks for scoring passes) or "cached" (training losses only); method/temperature/normalize:
  as in `ranking.select`; granularity: "pool", "within_batch", "batch" or "super_batch", with
  group_size the batch (or super-batch) size; prune > 0: InfoBatch's unbiased pruning instead of
  ranking; random_share not None: NINT's mix of NTK, residual (cached loss) and random picks; impl: the
  cross-shard top-k ("gather" or "merge").
  """
  name: str
  pool_size: int
  timetable: Timetable
  score_kind: str = "loss"
  source: str = "fresh"
  method: str = "hard"
  temperature: float = 1.0
  normalize: str = "softmax"
  granularity: str = "pool"
  group_size: int | None = None
  prune: float = 0.0
  random_share: float | None = None
  impl: str = sharded.DEFAULT_IMPL


def _counts(ratio: float, n: int, granularity: str, group_size: int | None) -> tuple[int, ...]:
  """For one ratio: (examples kept, kept per group, kept of the last group, whole groups kept)."""
  if granularity == "pool":
    return count_for(ratio, n), 0, 0, 0
  if granularity == "batch":  # only the n // group_size full groups compete
    groups = count_for(ratio, n // group_size)
    return groups * group_size, 0, 0, groups
  groups = -(-n // group_size)
  keep, keep_last = count_for(ratio, group_size), count_for(ratio, n - (groups - 1) * group_size)
  return keep * (groups - 1) + keep_last, keep, keep_last, 0


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
def epoch_randomness(key_data: jax.Array, epoch: jax.Array, *, n: int) -> tuple[jax.Array, jax.Array]:
  """An epoch's random draw from the state's key data: (perm int32[n], uniform f32[n]), replicated.

  `rules.epoch_randomness` of fold_in(key, epoch): compiled once per pool size, for every teacher.
  """
  return rules.epoch_randomness(jax.random.wrap_key_data(key_data), epoch, n)


class Teacher:
  """A teacher built from a `TeacherSpec`. Immutable; safe to share; all state lives in TeacherState."""

  def __init__(self, spec: TeacherSpec):
    self.spec = spec
    n, table = spec.pool_size, spec.timetable
    kinds = [spec.score_kind] + (["loss"] if spec.random_share is not None else [])
    self.score_kinds: tuple[str, ...] = tuple(dict.fromkeys(kinds))
    self.score_kind: str = spec.score_kind
    self.pool_size, self.total_epochs = n, table.total_epochs
    counts = np.array([_counts(r, n, spec.granularity, spec.group_size) for r in table.ratio])
    counts[table.phase == FULL] = (n, 0, 0, 0)
    # NINT's picks per epoch: round(random_share * count) random, round(ntk_share * count) by NTK
    # score, the rest by residual (cached loss).
    rand = np.floor((spec.random_share or 0.0) * counts[:, 0] + 0.5).astype(int)
    ntk = np.minimum(np.floor(table.ntk_share * counts[:, 0] + 0.5).astype(int), counts[:, 0] - rand)
    residual = counts[:, 0] - ntk - rand
    self._expected = counts[:, 0].astype(float)
    if spec.prune > 0:
      self._expected = np.where(table.phase == SELECT, n * table.ratio, self._expected)
    selecting = table.phase == SELECT
    self._k_max = int(counts[selecting, 0].max()) if selecting.any() else 0
    # Device tables, one row per epoch plus a final FULL row for calls past the last epoch.
    pad = lambda a, v: np.append(a, v)  # noqa: E731
    self._phase = pad(table.phase, FULL).astype(np.int32)
    self._count = pad(counts[:, 0], n).astype(np.int32)
    self._keep = pad(counts[:, 1], 0).astype(np.int32)
    self._keep_last = pad(counts[:, 2], 0).astype(np.int32)
    self._groups_kept = pad(counts[:, 3], 0).astype(np.int32)
    self._ntk = pad(ntk, 0).astype(np.int32)
    self._residual = pad(residual, 0).astype(np.int32)
    self._plan_jit = jax.jit(self.plan_epoch)

  # ---------------------------------------------------------------- host queries

  def _epoch(self, state_or_epoch) -> int:
    if isinstance(state_or_epoch, TeacherState):
      return int(np.asarray(state_or_epoch.epoch))
    return int(state_or_epoch)

  def wants_fresh_scores(self, state_or_epoch: TeacherState | int) -> bool:
    """Whether the loop should run a fresh scoring pass (of `score_kind`) before this epoch (host)."""
    epoch = self._epoch(state_or_epoch)
    return bool(0 <= epoch < self.total_epochs and self.spec.timetable.fresh[epoch])

  def expected_count(self, epoch: int) -> int:
    """Examples epoch `epoch` trains on: exact, except InfoBatch's pruned epochs (the expectation when
    half the pool scores below the mean; the true share depends on the scores). Host int."""
    if not 0 <= epoch < self.total_epochs:
      raise ValueError(f"epoch must lie in [0, {self.total_epochs}), got {epoch!r}")
    return int(round(self._expected[epoch]))

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
    reads = self._reads()
    if not reads:
      return
    epoch = jnp.clip(state.epoch, 0, self.total_epochs)
    selects = jnp.asarray(self._phase)[epoch] == SELECT
    for kind in reads:
      guards.check_scored(selects, jnp.any(state.age[kind] >= 0), kind)

  def _reads(self) -> tuple[str, ...]:
    """The score kinds a SELECT epoch of this teacher ranks by."""
    spec = self.spec
    if spec.method == "random" and spec.random_share is None:
      return ()
    return self.score_kinds

  def plan(self, state: TeacherState) -> Plan:
    """The plan `next_epoch` last returned, rebuilt from the state (to resume inside an epoch)."""
    epoch = jnp.maximum(state.epoch - 1, 0)
    return Plan(sharded.replicate(state.order), sharded.replicate(state.weights), state.count,
                jnp.asarray(self._phase)[epoch] == SELECT, epoch)

  def _selection(self, state: TeacherState, epoch, perm_N, uniform_N):
    """(kept bool[N], weights f32[N]) of a SELECT epoch, by the spec's rule."""
    spec, n = self.spec, self.pool_size
    seen = {k: state.age[k] >= 0 for k in self.score_kinds}
    ranked = {k: jnp.where(seen[k], state.scores[k], jnp.inf) for k in self.score_kinds}
    ones = jnp.ones(n, jnp.float32)
    count = jnp.asarray(self._count)[epoch]
    if spec.prune > 0:
      return rules.unbiased_prune(state.scores[spec.score_kind], seen[spec.score_kind], spec.prune,
                                  uniform_N)
    noise_N = rules.gumbel(uniform_N)
    if spec.random_share is not None:
      kept = rules.mixed(ranking.selection_keys(ranked[spec.score_kind], "hard"),
                         ranking.selection_keys(ranked["loss"], "hard"),
                         ranking.selection_keys(ranked["loss"], "random", noise=noise_N),
                         jnp.asarray(self._ntk)[epoch], jnp.asarray(self._residual)[epoch], count)
      return kept, ones
    scores = ranked[spec.score_kind]
    if spec.granularity == "batch":
      kept = rules.whole_groups(scores, perm_N, spec.group_size, jnp.asarray(self._groups_kept)[epoch],
                                spec.method, noise_N, spec.temperature, spec.normalize)
      return kept, ones
    keys = ranking.selection_keys(scores, spec.method, None, spec.temperature, spec.normalize,
                                  noise=noise_N)
    if spec.granularity == "pool":
      return rules.pool(keys, count, self._k_max, spec.impl), ones
    kept = rules.within_groups(keys, perm_N, spec.group_size, jnp.asarray(self._keep)[epoch],
                               jnp.asarray(self._keep_last)[epoch])
    return kept, ones

  def next_epoch(self, state: TeacherState) -> tuple[TeacherState, Plan]:
    """Plans epoch `state.epoch` and advances the counter. Two compiled calls: the epoch's random
    draw (`epoch_randomness`, one compile per pool size, shared by all teachers) and the plan (one
    compile per teacher for the whole run). Equal to `next_epoch_fn`, which is the same as one pure,
    jittable function."""
    self.check_state(state)
    perm_N, uniform_N = epoch_randomness(state.key, state.epoch, n=self.pool_size)
    return self._plan_jit(state, perm_N, uniform_N)

  def next_epoch_fn(self, state: TeacherState) -> tuple[TeacherState, Plan]:
    """`next_epoch` as one pure function of the state (jit it, or call it inside your own jit)."""
    self.check_state(state)
    perm_N, uniform_N = epoch_randomness(state.key, state.epoch, n=self.pool_size)
    return self.plan_epoch(state, perm_N, uniform_N)

  def plan_epoch(self, state: TeacherState, perm_N: jax.Array, uniform_N: jax.Array
                 ) -> tuple[TeacherState, Plan]:
    """The deterministic part of `next_epoch`, given the epoch's random draw. Pure, jittable.

    Shapes never depend on the epoch (ratios are table lookups, the kept count a traced int), so one
    compile serves the whole run. Calls past the last epoch plan full-data epochs.
    """
    n = self.pool_size
    epoch = jnp.clip(state.epoch, 0, self.total_epochs)
    phase = jnp.asarray(self._phase)[epoch]
    if self._k_max > 0 or self.spec.prune > 0:
      selected, selected_weights = self._selection(state, epoch, perm_N, uniform_N)
    else:  # this timetable never selects
      selected, selected_weights = jnp.ones(n, bool), jnp.ones(n, jnp.float32)
    previous = rules.prefix_mask(sharded.replicate(state.order), state.count)
    kept = jnp.where(phase == FULL, True, jnp.where(phase == SELECT, selected, previous))
    weights = jnp.where(phase == FULL, 1.0, jnp.where(
        phase == SELECT, selected_weights, sharded.replicate(state.weights)))
    order = rules.kept_first(perm_N, kept)
    count = kept.sum(dtype=jnp.int32)
    age = {k: jnp.where(a >= 0, a + 1, a) for k, a in state.age.items()}
    new_state = state._replace(
        age=age, order=sharded.like(order, state.order), weights=sharded.like(weights, state.weights),
        count=count, epoch=state.epoch + 1)
    return new_state, Plan(order, weights.astype(jnp.float32), count, phase == SELECT, epoch)

  def __repr__(self) -> str:
    spec = self.spec
    return (f"Teacher({spec.name!r}, pool_size={spec.pool_size}, total_epochs={self.total_epochs}, "
            f"score_kind={spec.score_kind!r}, source={spec.source!r}, method={spec.method!r}, "
            f"granularity={spec.granularity!r})")
