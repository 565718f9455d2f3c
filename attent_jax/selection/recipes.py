"""A teacher's recipe: its timetable (when to select, at what ratio) plus one pure selection rule.

A rule is any pure, jittable callable

    rule(scores, seen, randomness, epoch) -> (kept bool[L, M], weights f32[L, M])

  scores      dict kind -> f32[L, M]: the latest recorded score of each example (0 where never
              recorded), in the teacher's layout (`selection.layout`: example j * L + s at (s, j);
              padding entries score -inf and count as seen, so they rank last);
  seen        dict kind -> bool[L, M]: whether a score of that kind was ever recorded for the example;
  randomness  `Randomness`: the epoch's per-shard permutations and uniforms (all a rule may draw);
  epoch       int32[]: the epoch being planned (index the rule's own per-epoch host tables with it);
  kept        which examples the epoch trains on; weights: each example's loss weight (same layout).

The teacher calls the rule only on SELECT epochs of the timetable; shapes never depend on the epoch, so
one compile serves the whole run. The rules below are the presets' (frozen dataclasses, so that a
preset's rule can be varied with `dataclasses.replace`, as `random_subset` does); a custom rule can be
a plain function (README, "Drop the teacher into your own loop"). Inputs may be sharded over a mesh
axis on dim 0; the pool-wide rules keep that sharding (`rules`, `sharded.top_count_mask`). The group
rules (`WithinGroups`, `WholeGroups`) cut one permutation of the whole pool and need one logical
shard; `RankSampling` ranks the whole pool and gathers the scores to do it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from attent_jax.selection import online_batch, ranking, rules, sharded
from attent_jax.selection.layout import Layout
from attent_jax.selection.schedules import count_for
from attent_jax.selection.timetable import SELECT, Timetable


class Randomness(NamedTuple):
  """One epoch's random draw, in the teacher's [L, M] layout: perm int32[L, M] (row s: a uniform
  permutation of shard s's slots, padding last: the epoch's shuffle, and with one shard the cut of group
  rules) and uniform f32[L, M] in [0, 1) (per-example draws: Gumbel noise via `rules.gumbel`,
  InfoBatch's coin flips). Both from fold_in(key, epoch) (`rules.epoch_randomness`)."""
  perm: jax.Array
  uniform: jax.Array


Rule = Callable[[dict, dict, Randomness, jax.Array], tuple[jax.Array, jax.Array]]


@dataclasses.dataclass(frozen=True, eq=False)
class Recipe:
  """What a preset returns: `make_teacher` turns it into a `Teacher`.

  timetable   per-epoch phases, fresh-pass flags and ratios (`selection.timetable`);
  rule        the pure selection rule of SELECT epochs (module docstring);
  score_kind  what the loop's fresh scoring passes compute ("loss", "discrepancy" or "ntk");
  reads       score kinds the rule ranks by (tracked in the cache; `next_epoch` refuses to select while
              one was never recorded). None: the rule's own `reads`, else (score_kind,);
  counts      host int per epoch: examples a SELECT or REUSE epoch trains on (the expectation for a rule
              whose count depends on the scores). None: the rule's own `counts`, else
              count_for(ratio, N) of the timetable's ratio.
  """
  timetable: Timetable
  rule: Rule
  score_kind: str = "loss"
  reads: tuple[str, ...] | None = None
  counts: np.ndarray | None = None

  def kinds_read(self) -> tuple[str, ...]:
    if self.reads is not None:
      return tuple(self.reads)
    return tuple(getattr(self.rule, "reads", (self.score_kind,)))

  def counts_for(self, pool_size: int) -> np.ndarray:
    if self.counts is not None:
      return np.asarray(self.counts, float)
    if hasattr(self.rule, "counts"):
      return np.asarray(self.rule.counts, float)
    return np.array([count_for(r, pool_size) for r in self.timetable.ratio], float)


def unseen_first(scores: dict, seen: dict, kind: str) -> jax.Array:
  """The scores of `kind`, +inf where never recorded (never-seen examples rank first)."""
  return jnp.where(seen[kind], scores[kind], jnp.inf)


def dropped_tail(scores: dict, seen: dict, kind: str, count: jax.Array) -> jax.Array:
  """bool like the scores: the `count` highest-scored seen examples by `kind` (the likely-mislabelled
  tail a `drop_top` rule never picks; ties to the lower example id, `rules.pool`)."""
  tail = jnp.where(seen[kind], scores[kind], -jnp.inf)
  return seen[kind] & rules.pool(tail, count)


def _tables(table: Timetable, count: Callable[[float], tuple]) -> np.ndarray:
  """int32[E, ...]: `count(ratio)` for every epoch of the timetable."""
  return np.array([count(r) for r in table.ratio], np.int32)


@dataclasses.dataclass(frozen=True, eq=False, kw_only=True)
class Ranked:
  """What a ranking rule ranks by: `kind` scores (unseen examples first) turned into keys by `method`
  ("hard", "soft" Gumbel-top-k at `temperature` over `normalize`d scores, or "random"; `ranking`)."""
  kind: str = "loss"
  method: str = "hard"
  temperature: float = 1.0
  normalize: str = "softmax"

  @property
  def reads(self) -> tuple[str, ...]:
    return () if self.method == "random" else (self.kind,)

  def keys(self, scores, seen, randomness: Randomness) -> jax.Array:
    """f32 selection keys of this epoch, shaped like the scores (`ranking.selection_keys`)."""
    return ranking.selection_keys(
        unseen_first(scores, seen, self.kind), self.method, None, self.temperature, self.normalize,
        noise=rules.gumbel(randomness.uniform))


@dataclasses.dataclass(frozen=True, eq=False)
class TopK(Ranked):
  """The top count(ratio) of the pool by `method` keys of the `kind` scores (`ranking`).

  Two options reshape the pick (both None by default: plain top-k). drops int32[E]: before ranking,
  exclude that many of the highest-scored seen examples (the likely-mislabelled tail; never picked,
  not even at random). randoms int32[E]: that many of the count are uniform random picks from what the
  ranked picks left (hard and random mixed)."""
  counts: np.ndarray  # int32[E]
  drops: np.ndarray | None = None
  randoms: np.ndarray | None = None

  @classmethod
  def over(cls, table: Timetable, n: int, drop_top: float = 0.0, random_share: float = 0.0,
           **fields) -> TopK:
    """count_for(ratio, N) per epoch; `drop_top` (a share of the pool, at most what the count leaves)
    and `random_share` (a share of the count, rounded down) set `drops` and `randoms`."""
    counts = _tables(table, lambda r: count_for(r, n))
    drops = np.minimum(round(drop_top * n), n - counts).astype(np.int32)
    randoms = np.floor(random_share * counts).astype(np.int32)
    return cls(counts, drops=drops if drops.any() else None,
               randoms=randoms if random_share else None, **fields)

  @property
  def reads(self) -> tuple[str, ...]:
    return (self.kind,) if self.drops is not None else super().reads

  def __call__(self, scores, seen, randomness, epoch):
    keys = self.keys(scores, seen, randomness)
    count = jnp.asarray(self.counts)[epoch]
    excluded = None
    if self.drops is not None:
      excluded = dropped_tail(scores, seen, self.kind, jnp.asarray(self.drops)[epoch])
      keys = jnp.where(excluded, -jnp.inf, keys)
    if self.randoms is None:
      kept = rules.pool(keys, count)
    else:
      random = jax.vmap(rules.random_order_keys)(randomness.perm)
      if excluded is not None:
        random = jnp.where(excluded, -jnp.inf, random)
      kept = rules.mixed(keys, keys, random, count - jnp.asarray(self.randoms)[epoch],
                         jnp.int32(0), count)
    return kept, _ones_like(kept)


@dataclasses.dataclass(frozen=True, eq=False)
class RankSampling(TopK):
  """Online batch selection: count(ratio) examples drawn without replacement with probability
  decaying exponentially in their loss rank, the top one `pressure` times as likely as the last
  (`online_batch.sampling_keys`, Gumbel-top-k)."""
  pressure: float = online_batch.DEFAULT_PRESSURE

  @classmethod
  def of(cls, top_k: TopK, pressure: float) -> RankSampling:
    """The same counts and kind as `top_k`, sampled by rank."""
    fields = {f.name: getattr(top_k, f.name) for f in dataclasses.fields(TopK)
              if f.name not in ("drops", "randoms")}
    return cls(**fields, pressure=pressure)

  def __call__(self, scores, seen, randomness, epoch):
    keys = online_batch.sampling_keys(unseen_first(scores, seen, self.kind), self.pressure,
                                      rules.gumbel(randomness.uniform))
    kept = rules.pool(keys, jnp.asarray(self.counts)[epoch])
    return kept, _ones_like(kept)


def grant_quotas(ratio: float, n: int, group_size: int) -> list[int]:
  """GraNT-S's per-batch quotas, as its released sampler computes them: ceil(ratio * N) examples in all,
  spread over the batches in proportion to their sizes, each share rounded down with the remainder
  carried to the next batch."""
  groups = -(-n // group_size)
  sizes = [group_size] * (groups - 1) + [n - (groups - 1) * group_size]
  total, carried, quotas = math.ceil(n * ratio), 0.0, []
  for size in sizes:
    exact = size / n * total
    quota = int(exact + carried)
    quotas.append(quota)
    carried += exact - quota
  return quotas


@dataclasses.dataclass(frozen=True, eq=False)
class WithinGroups(Ranked):
  """Selection inside groups: the epoch's permutation cut into groups of `group_size`, and the top
  keep[epoch, g] of group g (`rules.within_groups`). keep: int32[E, ceil(N / group_size)]: round(ratio
  * size) per group (`over`), or GraNT-S's quotas (`grant_over`)."""
  keep: np.ndarray
  group_size: int

  @classmethod
  def over(cls, table: Timetable, n: int, group_size: int, **fields) -> WithinGroups:
    groups = -(-n // group_size)
    last = n - (groups - 1) * group_size
    quotas = lambda r: [count_for(r, group_size)] * (groups - 1) + [count_for(r, last)]  # noqa: E731
    return cls(_tables(table, quotas), group_size, **fields)

  @classmethod
  def grant_over(cls, table: Timetable, n: int, group_size: int, **fields) -> WithinGroups:
    return cls(_tables(table, lambda r: grant_quotas(r, n, group_size)), group_size, **fields)

  @property
  def counts(self) -> np.ndarray:
    return self.keep.sum(1)

  whole_pool_order = True  # cuts one permutation of the whole pool: needs one logical shard

  def __call__(self, scores, seen, randomness, epoch):
    keys = self.keys(scores, seen, randomness)
    kept = rules.within_groups(keys[0], randomness.perm[0], self.group_size,
                               jnp.asarray(self.keep)[epoch])[None]
    return kept, _ones_like(kept)


@dataclasses.dataclass(frozen=True, eq=False)
class WholeGroups(Ranked):
  """Whole groups: the epoch's permutation cut into groups of `group_size`, ranked by mean score, the
  top groups_kept[epoch] kept (`rules.whole_groups`): round(ratio * (N // group_size)) of the full
  groups (`over`), or GraNT-B's ceil(ratio * batches) with the short last batch competing
  (`grant_over`). groups_kept: int32[E]."""
  groups_kept: np.ndarray
  group_size: int
  short_last: bool = False
  pool_size: int | None = None

  @classmethod
  def over(cls, table: Timetable, n: int, group_size: int, **fields) -> WholeGroups:
    return cls(_tables(table, lambda r: count_for(r, n // group_size)), group_size, **fields)

  @classmethod
  def grant_over(cls, table: Timetable, n: int, group_size: int, **fields) -> WholeGroups:
    """GraNT-B as its released sampler: ceil(ratio * batches) of the ceil(N / group_size) batches, the
    short last batch a candidate too (kept, it brings fewer examples: counts are then an upper bound
    by group_size - its size, and the number of training batches is the same)."""
    groups = -(-n // group_size)
    return cls(_tables(table, lambda r: min(groups, math.ceil(r * groups))), group_size,
               short_last=n % group_size != 0, pool_size=n, **fields)

  @property
  def counts(self) -> np.ndarray:
    kept = self.groups_kept * self.group_size
    return kept if self.pool_size is None else np.minimum(kept, self.pool_size)

  whole_pool_order = True  # cuts one permutation of the whole pool: needs one logical shard

  def __call__(self, scores, seen, randomness, epoch):
    kept = rules.whole_groups(
        unseen_first(scores, seen, self.kind)[0], randomness.perm[0], self.group_size,
        jnp.asarray(self.groups_kept)[epoch], self.method, rules.gumbel(randomness.uniform[0]),
        self.temperature, self.normalize, self.short_last)[None]
    return kept, _ones_like(kept)


@dataclasses.dataclass(frozen=True, eq=False)
class PerClass(Ranked):
  """Class-balanced picks: the top count_for(ratio, size of c) of every class c by `method` keys of
  the `kind` scores (`rules.within_classes`), so each class keeps its share of the pool.
  classes: int32[N] class id of each example (host, static); keep: int32[E, C] quota per class."""
  classes: np.ndarray
  keep: np.ndarray

  @classmethod
  def over(cls, table: Timetable, classes: np.ndarray, **fields) -> PerClass:
    sizes = np.bincount(classes)
    return cls(classes, _tables(table, lambda r: [count_for(r, int(s)) for s in sizes]), **fields)

  @property
  def counts(self) -> np.ndarray:
    return self.keep.sum(1)

  def __call__(self, scores, seen, randomness, epoch):
    keys = self.keys(scores, seen, randomness)
    layout = Layout(len(self.classes), keys.shape[0])
    # The class ids enter the program as a constant of the layout's shape (padding: ineligible).
    classes = jnp.asarray(layout.place(self.classes))
    valid = jnp.asarray(layout.ids() < layout.pool_size)
    sharding = jax.typeof(keys).sharding if sharded.leading_axes(keys) is not None else None
    if sharding is not None:
      classes, valid = (jax.sharding.reshard(x, sharding) for x in (classes, valid))
    kept = rules.within_classes(keys, classes, jnp.asarray(self.keep)[epoch], eligible=valid)
    return kept, _ones_like(kept)


@dataclasses.dataclass(frozen=True, eq=False)
class UnbiasedPrune:
  """InfoBatch: seen examples scoring below the mean dropped with probability `prune`, the kept ones
  among them reweighted by 1 / (1 - prune) (`rules.unbiased_prune`). counts: the expectation.
  drops int32[E] (None by default): before pruning, exclude that many of the highest-scored seen
  examples (the likely-mislabelled tail, as `TopK.drops`), from the picks and from the mean."""
  counts: np.ndarray
  prune: float
  kind: str = "loss"
  drops: np.ndarray | None = None

  @property
  def reads(self) -> tuple[str, ...]:
    return (self.kind,)

  def __call__(self, scores, seen, randomness, epoch):
    excluded = None
    if self.drops is not None:
      excluded = dropped_tail(scores, seen, self.kind, jnp.asarray(self.drops)[epoch])
    return rules.unbiased_prune(scores[self.kind], seen[self.kind], self.prune, randomness.uniform,
                                excluded)


@dataclasses.dataclass(frozen=True, eq=False)
class Mix:
  """NINT: of count(ratio) picks, floor(ntk_share * count) by top `kind` score (the timetable's
  ntk_share), floor((1 - random_share - ntk_share) * count) by top cached loss (the residual), and the
  rest uniformly random (`rules.mixed`), as NINT's released hierarchical sampler splits them.
  picks: int32[E, 3] (count, by `kind`, by loss)."""
  picks: np.ndarray
  kind: str = "ntk"

  @classmethod
  def over(cls, table: Timetable, n: int, random_share: float, kind: str = "ntk") -> Mix:
    count = np.array([count_for(r, n) for r in table.ratio])
    by_kind = np.floor(table.ntk_share * count).astype(int)
    residual_share = np.maximum(1.0 - random_share - table.ntk_share, 0.0)
    residual = np.minimum(np.floor(residual_share * count).astype(int), count - by_kind)
    return cls(np.stack([count, by_kind, residual], 1).astype(np.int32), kind)

  @property
  def reads(self) -> tuple[str, ...]:
    return tuple(dict.fromkeys((self.kind, "loss")))

  @property
  def counts(self) -> np.ndarray:
    return self.picks[:, 0]

  def __call__(self, scores, seen, randomness, epoch):
    picks = jnp.asarray(self.picks)[epoch]
    loss = unseen_first(scores, seen, "loss")
    kept = rules.mixed(
        ranking.selection_keys(unseen_first(scores, seen, self.kind), "hard"),
        ranking.selection_keys(loss, "hard"),
        ranking.selection_keys(loss, "random", noise=rules.gumbel(randomness.uniform)),
        picks[1], picks[2], picks[0])
    return kept, _ones_like(kept)


def _ones_like(kept: jax.Array) -> jax.Array:
  return jnp.ones(kept.shape, jnp.float32)
