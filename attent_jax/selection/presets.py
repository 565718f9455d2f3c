"""Named teachers: the paper's two recipes, its relatives' curricula, and the baselines they must beat.

`make_teacher(name, pool_size=N, total_epochs=E, **overrides)` builds one; `PRESETS` lists the names.
A preset is one function `preset(n, e, **overrides) -> recipes.Recipe` (its timetable and its pure
rule); `register(name, preset)` adds one. Each preset's docstring says where it comes from and how many
examples each epoch trains on (`teacher.expected_count(epoch)` gives the exact numbers; ratios turn into
counts by rounding half up). Every argument is checked before anything is compiled: a bad one raises
ValueError naming it and the allowed values or range.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from attent_jax.checks import require_choice as check_choice
from attent_jax.checks import require_int as check_int
from attent_jax.checks import require_ratio as check_ratio
from attent_jax.selection import online_batch as online_batch_rule
from attent_jax.selection import recipes, timetable
from attent_jax.selection.ranking import check_selection_args
from attent_jax.selection.recipes import Recipe
from attent_jax.selection.schedules import INTERVAL_KINDS, RATIO_KINDS, ratio_schedule
from attent_jax.selection.scores import SCORE_KINDS
from attent_jax.selection.teacher import Teacher

GRANULARITIES = ("pool", "within_batch", "batch", "super_batch")
SOURCES = ("fresh", "cached")

_SELECTION = dict(method="hard", temperature=1.0, normalize="softmax", score_kind="loss",
                  source="fresh", granularity="pool", batch_size=None)
# How a pool-granularity ranking fills its count (`recipes.TopK`, `recipes.PerClass`): drop_top, a
# share of the pool excluded as the highest-scored tail (likely label noise); random_share, a share of
# the count picked uniformly at random instead of by rank; classes, int[N] class ids for class-balanced
# picks (every class keeps its share).
_PICKS = dict(drop_top=0.0, random_share=0.0, classes=None)
_RATIO = dict(ratio_start=0.2, ratio_end=1.0, ratio_kind="step", stages=10)
_INTERVAL = dict(interval_kind="dense", every=1, dense_share=None, growth=None, short=None, long=None)


def _options(name: str, defaults: dict, overrides: dict) -> dict:
  unknown = sorted(set(overrides) - set(defaults))
  if unknown:
    raise ValueError(f"preset {name!r} does not accept {unknown}; "
                     f"allowed overrides: {sorted(defaults)}")
  return {**defaults, **overrides}


def _check_selection(o: dict) -> None:
  check_selection_args(o["method"], o["temperature"], o["normalize"])
  check_choice("score_kind", o["score_kind"], SCORE_KINDS)
  check_choice("source", o["source"], SOURCES)
  check_choice("granularity", o["granularity"], GRANULARITIES)


def _ranked(n: int, table: timetable.Timetable, o: dict) -> Recipe:
  """Validates the selection options in `o` and builds the recipe of a ranking rule: the top of the
  pool, of each group, or whole groups, by `o["method"]` keys of `o["score_kind"]` scores."""
  _check_selection(o)
  group_size, granularity = None, o["granularity"]
  if granularity == "super_batch" and o.get("super_batch_size") is not None:
    group_size = check_int("super_batch_size", o["super_batch_size"], 1)
  elif granularity != "pool":
    if o["batch_size"] is None:
      raise ValueError(f"granularity {granularity!r} needs batch_size (an integer in [1, {n}])")
    group_size = check_int("batch_size", o["batch_size"], 1)
    if granularity == "super_batch":  # one training batch of batch_size per super-batch
      ratio = check_ratio("ratio_start", o.get("ratio_start", 1.0))
      group_size = min(n, max(1, round(group_size / ratio)))
  if group_size is not None and group_size > n:
    raise ValueError(f"the group size ({group_size}, from batch_size/super_batch_size) must be <= "
                     f"pool_size {n}")
  ranking = dict(kind=o["score_kind"], method=o["method"], temperature=float(o["temperature"]),
                 normalize=o["normalize"])
  picks = _picks(n, o)
  if picks and granularity != "pool":
    raise ValueError(f"{sorted(picks)} apply to granularity 'pool' only, got {granularity!r}")
  if "classes" in picks:
    if set(picks) != {"classes"}:
      raise ValueError("classes (class-balanced picks) cannot be combined with drop_top or "
                       "random_share")
    rule = recipes.PerClass.over(table, picks["classes"], **ranking)
  elif granularity == "pool":
    rule = recipes.TopK.over(table, n, **picks, **ranking)
  elif granularity == "batch":
    rule = recipes.WholeGroups.over(table, n, group_size, **ranking)
  else:
    rule = recipes.WithinGroups.over(table, n, group_size, **ranking)
  return Recipe(table, rule, score_kind=o["score_kind"])


def _share(name: str, value) -> float:
  """`value` as a float in [0, 1) (a share of the pool or of a count), else ValueError naming `name`."""
  if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
    raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
  return float(value)


def _picks(n: int, o: dict) -> dict:
  """The non-default `_PICKS` options of `o`, validated (classes as a host int32[N] array)."""
  picks = {}
  for name in ("drop_top", "random_share"):
    value = _share(name, o.get(name, 0.0))
    if value:
      picks[name] = value
  if o.get("classes") is not None:
    classes = np.asarray(o["classes"])
    if classes.shape != (n,) or not np.issubdtype(classes.dtype, np.integer) or (
        classes.size and classes.min() < 0):
      raise ValueError(f"classes must be non-negative integer class ids of shape ({n},), got "
                       f"{classes.dtype}{list(classes.shape)}")
    picks["classes"] = classes.astype(np.int32)
  return picks


def _ratios(o: dict, rounds: int):
  """The ratio at round r in [0, rounds), as INT's and GraNT's schedulers evaluate theirs: at
  r / rounds, so the "step" kind's last stage is start + (stages - 1) (end - start) / stages."""
  check_choice("ratio_kind", o["ratio_kind"], RATIO_KINDS)
  return ratio_schedule(o["ratio_kind"], start=o["ratio_start"], end=o["ratio_end"],
                        total_steps=max(rounds, 1), stages=o["stages"])


def _reselect(o: dict, rounds: int):
  check_choice("interval_kind", o["interval_kind"], INTERVAL_KINDS)
  params = {k: o[k] for k in ("dense_share", "growth", "short", "long") if o[k] is not None}
  return timetable.interval_rounds(o["interval_kind"], rounds, every=o["every"], **params)


def _warmup(o: dict, e: int) -> int:
  return min(check_int("warmup_epochs", o["warmup_epochs"], 0), e)


def full_data(n: int, e: int, **overrides) -> Recipe:
  """The baseline: every example every epoch, in a fresh random order. Counts: N every epoch."""
  o = _options("full_data", {}, overrides)
  return _ranked(n, timetable.full_data(e), {**_SELECTION, **o})


def attent_simple(n: int, e: int, **overrides) -> Recipe:
  """AtteNT-Simple (the paper's LLM LoRA recipe): epoch 0 on the full pool, recording each example's
  training loss (no scoring pass); then the top 70% by loss (hard), selected once, for every remaining
  epoch. Counts: N, then round(0.7 N) for epochs 1..E-1. Pool picks: `drop_top`, `random_share`,
  `classes` (`_PICKS`)."""
  o = _options("attent_simple", {**_SELECTION, **_PICKS, "source": "cached", "ratio_start": 0.7,
                                 "warmup_epochs": 1}, overrides)
  table = timetable.select_once(e, _warmup(o, e), check_ratio("ratio_start", o["ratio_start"]),
                                fresh=o["source"] == "fresh" and o["method"] != "random")
  return _ranked(n, table, o)


def attent_complex(n: int, e: int, **overrides) -> Recipe:
  """AtteNT-Complex (the paper's MultiMAE ViT recipe): one full epoch, then `cycles` (10) cycles.
  Each re-scores the pool (fresh pass), sets the ratio from `ratio_kind` ("linear"; or "cosine")
  0.2 -> 0.8 over the cycles, selects (soft Gumbel-top-k by default; "hard"/"random"), trains `interval`
  (5; growing to `interval_end` if given) epochs on the subset, re-drawing it before each subset epoch
  when `redraw` (default: method is soft), then the rest of the cycle on the full pool. With few epochs:
  min(cycles, E - 1) cycles of as-equal-as-possible length, each min(interval, length) subset epochs
  (see `timetable.cycles`). Counts with E = 20: N; then cycles of 2 epochs (the last of 1), cycle c
  training round(N * (0.2 + 0.6 c / 9)) both epochs. Like attent_simple and int, it takes the pool
  picks `drop_top`, `random_share` and `classes` (`_PICKS`).
  At short budgets (E < 2 * cycles) the cycles collapse: every epoch after the first is a subset
  epoch and the pool is never trained on in full again; with source="cached" (free, no scoring
  passes) soft re-draws rank a cache mixing the last fresh pass with stale training-pass losses,
  while the paper re-scores the pool before every soft subset epoch (source="fresh", the default)."""
  o = _options("attent_complex", {**_SELECTION, **_PICKS, "method": "soft", "cycles": 10,
                                  "ratio_start": 0.2, "ratio_end": 0.8, "ratio_kind": "linear",
                                  "interval": 5, "interval_end": None, "redraw": None}, overrides)
  check_choice("ratio_kind", o["ratio_kind"], RATIO_KINDS)
  if o["interval_end"] is not None:
    check_int("interval_end", o["interval_end"], 1)
  redraw = o["method"] == "soft" if o["redraw"] is None else bool(o["redraw"])
  table = timetable.cycles(
      e, check_int("cycles", o["cycles"], 1), o["ratio_kind"],
      check_ratio("ratio_start", o["ratio_start"]), check_ratio("ratio_end", o["ratio_end"]),
      check_int("interval", o["interval"], 1), o["interval_end"],
      fresh=o["source"] == "fresh" and o["method"] != "random", redraw=redraw)
  return _ranked(n, table, o)


def _curriculum_spec(name: str, n: int, e: int, defaults: dict, overrides: dict) -> Recipe:
  o = _options(name, defaults, overrides)
  warmup = _warmup(o, e)
  rounds = e - warmup
  check_ratio("ratio_start", o["ratio_start"]), check_ratio("ratio_end", o["ratio_end"])
  if o["interval_kind"] == "curriculum" and o["dense_share"] is None:
    o["dense_share"] = o["ratio_start"]  # GraNT: re-select every epoch for the first start-ratio share
  fresh = o["source"] == "fresh" and o["method"] != "random"
  table = timetable.curriculum(e, warmup, _ratios(o, rounds), _reselect(o, rounds),
                               fresh_at=lambda selection: fresh)
  return _ranked(n, table, o)


def int_(n: int, e: int, **overrides) -> Recipe:
  """INT (ICML 2024; its released `step` scheduler and `incremental` strategy): fresh scores, hard
  top-k, no warm-up. The ratio steps from 0.2 toward 1 in 10 equal stages of the epochs,
  0.2 + 0.08 floor(10 e / E), so it tops out at 0.92 in the last stage. Re-selected every epoch for
  the first 25% of the epochs; the rest is cut into 5 equal phases, phase p re-selecting at the
  epochs that are multiples of growth * (p + 1) (INT: 10, 20, ... 50 on 5000 steps; `growth`
  defaults to max(1, round(E / 500)), see `schedules.interval_schedule`). Counts with E = 20:
  selections at epochs 0-8, 10, 12 and 16, at round(N (0.2 + 0.08 floor(e / 2))), each reused
  until the next."""
  return _curriculum_spec("int", n, e, {**_SELECTION, **_PICKS, **_RATIO, **_INTERVAL,
                                        "interval_kind": "incremental", "warmup_epochs": 0}, overrides)


def _grant(name: str, granularity: str, n: int, e: int, overrides: dict) -> Recipe:
  defaults = {**_SELECTION, **_RATIO, **_INTERVAL, "granularity": granularity, "ratio_start": 0.1,
              "stages": 50, "interval_kind": "curriculum", "warmup_epochs": 1, "lr_floor": 0.5}
  floor = {**defaults, **overrides}["lr_floor"]
  if floor is not None and (isinstance(floor, bool) or not isinstance(floor, (int, float))
                            or not 0.0 < floor <= 1.0):
    raise ValueError(f"lr_floor must be None or lie in (0, 1] (a share of the peak learning rate), "
                     f"got {floor!r}")
  recipe = _curriculum_spec(name, n, e, defaults, overrides)
  rule = recipe.rule  # GraNT's own counts: per-batch quotas (S), ceil over all batches (B)
  if isinstance(rule, (recipes.WithinGroups, recipes.WholeGroups)):
    recipe = dataclasses.replace(recipe, rule=type(rule).grant_over(
        recipe.timetable, n, rule.group_size, kind=rule.kind, method=rule.method,
        temperature=rule.temperature, normalize=rule.normalize))
  floor = None if floor is None else float(floor)
  return dataclasses.replace(recipe, timetable=dataclasses.replace(recipe.timetable, lr_floor=floor))


def grant_b(n: int, e: int, **overrides) -> Recipe:
  """GraNT-B (ICML 2025; its released `step` scheduler and `simple_curriculum` strategy): one full
  epoch, then fresh scores and whole batches ranked by mean score (needs batch_size). Over the
  R = E - 1 rounds the ratio of batches kept steps from 0.1 toward 1 in 50 stages,
  0.1 + 0.018 floor(50 r / R) (at most 0.982); re-selected every round for the first ratio_start
  share of the rounds, then whenever the round reaches a trigger that advances by an interval
  growing from 1% to 10% of the rounds (GraNT's 5 -> 50 epochs; see
  `schedules.interval_schedule("curriculum")`, which keeps GraNT's catch-up after the dense phase).
  After every re-selection epoch the learning rate is raised back to `lr_floor` (0.5) times the
  peak learning rate when it has decayed below (GraNT's 0.005 with base LR 0.01 on ogbg-molhiv; the
  training stack applies it, `attent_jax.lr_floor`); None turns it off.
  Counts, as GraNT's released sampler keeps batches: ceil(ratio * ceil(N / batch_size)) batches, the
  short last batch competing too (when kept, it brings fewer than batch_size examples; the expected
  count assumes full batches, and the number of training batches is exact either way)."""
  return _grant("grant_b", "batch", n, e, overrides)


def grant_s(n: int, e: int, **overrides) -> Recipe:
  """GraNT-S (ICML 2025): as grant_b (ratio, re-selection rounds, LR floor), but keeps the top ratio
  of the examples inside every batch (needs batch_size). Counts as GraNT's released sampler makes
  them (`recipes.grant_quotas`): ceil(ratio * N) in all, spread over the batches in proportion to their
  sizes, each share rounded down with the remainder carried to the next batch."""
  return _grant("grant_s", "within_batch", n, e, overrides)


def infobatch(n: int, e: int, **overrides) -> Recipe:
  """InfoBatch (ICLR 2024), unbiased pruning from the cached training losses: every epoch, examples
  scoring below the mean are dropped with probability `prune` (0.5) and the kept ones among them get
  loss weight 1 / (1 - prune); epoch 0 and the last `final_full` (0.125) share of epochs (from
  floor((1 - final_full) E)) train on the full pool. Counts: N on full epochs; in expectation
  N (1 - prune / 2) on pruned ones (exactly N minus the pruned). `drop_top` (0; in [0, 1)): on pruned
  epochs, first exclude that share of the pool with the highest cached losses (likely label noise,
  as attent_complex's `drop_top`), from the picks and from the mean; expected counts then
  (N - round(drop_top N)) (1 - prune / 2). `score_kind`: the cached score pruned by, "loss" (InfoBatch's)
  or "relative_loss" (de-biased in time, `scores.relative_loss`)."""
  o = _options("infobatch", {"prune": 0.5, "final_full": 0.125, "drop_top": 0.0,
                             "score_kind": "loss"}, overrides)
  kind = check_choice("score_kind", o["score_kind"], ("loss", "relative_loss"))
  prune = o["prune"]
  if isinstance(prune, bool) or not isinstance(prune, (int, float)) or not 0.0 < prune < 1.0:
    raise ValueError(f"prune must lie in (0, 1), got {prune!r}")
  final_full = o["final_full"]
  if isinstance(final_full, bool) or not isinstance(final_full, (int, float)) or not (
      0.0 <= final_full <= 1.0):
    raise ValueError(f"final_full must lie in [0, 1], got {final_full!r}")
  table = timetable.unbiased_pruning(e, float(prune), float(final_full))
  drop = round(_share("drop_top", o["drop_top"]) * n)
  pruned = table.phase == timetable.SELECT
  counts = np.where(pruned, (n - drop) * table.ratio, n)
  drops = np.where(pruned, drop, 0).astype(np.int32) if drop else None
  return Recipe(table, recipes.UnbiasedPrune(counts, float(prune), kind, drops=drops),
                score_kind=kind)


def online_batch(n: int, e: int, **overrides) -> Recipe:
  """Online batch selection (Loshchilov & Hutter, 2015): one full epoch, then every epoch the pool
  is ranked by each example's latest known loss (the cached training losses) and round(ratio_start
  (0.5) N) examples are drawn without replacement with probability decaying exponentially in the
  rank, exp(-log(pressure) rank / N): the top-ranked example is `pressure` (100, the paper's
  s_e0 = 10^2) times as likely as the last (see `selection.online_batch`). The paper draws every
  batch from that distribution as it trains; this draws the epoch's examples at once and re-ranks
  between epochs. Counts: N, then round(0.5 N) every epoch."""
  o = _options("online_batch", {**_SELECTION, **_RATIO, **_INTERVAL, "source": "cached",
                                "ratio_start": 0.5, "ratio_kind": "constant",
                                "pressure": online_batch_rule.DEFAULT_PRESSURE, "warmup_epochs": 1},
               overrides)
  if o["method"] != "hard" or o["granularity"] != "pool":
    raise ValueError("online_batch samples by loss rank over the pool: do not override method or "
                     "granularity (use random_subset(like='online_batch') for a random baseline)")
  pressure = online_batch_rule.check_pressure(o["pressure"])
  recipe = _curriculum_spec("online_batch", n, e, o, {})
  return dataclasses.replace(recipe, rule=recipes.RankSampling.of(recipe.rule, pressure))


def _nint_share(initial: float, every: int, floor: float) -> tuple:
  """NINT's NTK share and refreshes by selection number c = 1, 2, ...: the share is recomputed only
  when the NTK scores are refreshed (c = 1 and every multiple of `every`), as
  initial * exp(floor(-c / every)), and held in between; once it would fall below `floor` the NTK
  part stops (no more refreshes, share 0). Returns (share_at(c), refresh_at(c))."""

  def last_refresh(c: int) -> int:
    return max(1, c // every * every)

  def share_at(c: int) -> float:
    share = initial * math.exp(math.floor(-last_refresh(c) / every))
    return share if share >= floor else 0.0

  def refresh_at(c: int) -> bool:
    return (c == 1 or c % every == 0) and share_at(c) > 0

  return share_at, refresh_at


def nint(n: int, e: int, **overrides) -> Recipe:
  """NINT (CVPR 2026; its released sampler and default config): one full epoch (so the residual
  picks have losses), then a selection every epoch at a constant ratio 0.2 (`ratio_kind`
  "constant"; INT's schedules are options). The k picks mix floor(s_c k) by NTK-guided score (score_kind
  "ntk", computed by the training loop with `attent_jax.ntk.ntk_guided_scores`), floor((1 - 0.7 -
  s_c) k) by residual (top cached training loss), and the rest (about random_share = 0.7 of them)
  uniformly random, as its released sampler splits them. NINT
  refreshes its NTK scores at selections c = 1, 10, 20, ... (`ntk_every` = 10) and sets the share
  there to s_c = ntk_share (0.3) * exp(floor(-c / 10)), holding it in between (0.110 up to c = 19,
  0.041 from 20, 0.015 from 30, ...); below `ntk_min` (1e-3, from c = 60) the NTK part stops.
  NINT re-selects every training step; this plans per epoch, so c counts epochs (one selection per
  epoch) and the residual picks rank the cached training losses rather than a fresh forward pass.
  Counts: N, then round(0.2 N) every epoch; NTK scoring passes before epochs 1 and 10 (c = 1, 10)."""
  o = _options("nint", {**_SELECTION, **_RATIO, "ratio_kind": "constant", "score_kind": "ntk",
                        "random_share": 0.7, "ntk_share": 0.3, "ntk_every": 10, "ntk_min": 1e-3,
                        "warmup_epochs": 1}, overrides)
  for name in ("random_share", "ntk_share", "ntk_min"):
    value = o[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
      raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
  share = o["random_share"]
  if share + o["ntk_share"] > 1.0:
    raise ValueError(f"random_share + ntk_share must be <= 1, got {share} + {o['ntk_share']}")
  if o["method"] != "hard" or o["granularity"] != "pool":
    raise ValueError("nint picks by hard top-k over the pool: method must be 'hard' and granularity "
                     "'pool' (use random_subset(like='nint') for a random baseline)")
  every = check_int("ntk_every", o["ntk_every"], 1)
  warmup = _warmup(o, e)
  rounds = e - warmup
  check_ratio("ratio_start", o["ratio_start"]), check_ratio("ratio_end", o["ratio_end"])
  share_at, refresh_at = _nint_share(float(o["ntk_share"]), every, float(o["ntk_min"]))
  fresh = o["source"] == "fresh"
  table = timetable.curriculum(e, warmup, _ratios(o, rounds), lambda r: True,
                               fresh_at=lambda s: fresh and refresh_at(s + 1),
                               ntk_share_at=lambda r: share_at(r + 1))
  _check_selection(o)
  return Recipe(table, recipes.Mix.over(table, n, float(share), o["score_kind"]),
                score_kind=o["score_kind"])


def random_subset(n: int, e: int, like: str = "attent_complex", **overrides) -> Recipe:
  """The control every speed-up must beat: a uniformly random subset on exactly the timetable of the
  preset `like` (default attent_complex; overrides go to it): same epochs, ratios, re-selections and
  re-draws, but no scoring passes. Counts: those of `like`."""
  check_choice("like", like, _LIKE)
  if "method" in overrides:
    raise ValueError("random_subset always selects at random: do not pass method")
  recipe = PRESETS[like](n, e, **overrides)
  table = dataclasses.replace(recipe.timetable, fresh=recipe.timetable.fresh & False)
  rule = recipe.rule
  if isinstance(rule, (recipes.Mix, recipes.RankSampling)):  # NINT's or online batch's picks, random
    rule = recipes.TopK.over(table, n)
  return Recipe(table, dataclasses.replace(rule, method="random", kind="loss"))


PRESETS: dict[str, Callable[..., Recipe]] = {
    "full_data": full_data, "attent_simple": attent_simple, "attent_complex": attent_complex,
    "int": int_, "grant_b": grant_b, "grant_s": grant_s, "infobatch": infobatch,
    "random_subset": random_subset, "online_batch": online_batch, "nint": nint,
}
_LIKE = ("attent_simple", "attent_complex", "int", "grant_b", "grant_s", "online_batch", "nint")


def register(name: str, preset: Callable[..., Recipe]) -> None:
  """Adds `preset(n, e, **overrides) -> Recipe` to `PRESETS` under `name` (a new name: ValueError
  for one already taken), so that `make_teacher(name, ...)` builds it."""
  if not isinstance(name, str) or not name:
    raise ValueError(f"name must be a non-empty string, got {name!r}")
  if name in PRESETS:
    raise ValueError(f"a preset named {name!r} exists already: {tuple(PRESETS)}")
  PRESETS[name] = preset


def make_teacher(name: str, *, pool_size: int, total_epochs: int, logical_shards: int = 1,
                 **overrides) -> Teacher:
  """The preset `name` (one of `PRESETS`) for a pool of `pool_size` examples trained `total_epochs`
  epochs, with `overrides` of its documented defaults. Static: build it once, outside `jit`.

  logical_shards: L, the pool's layout (`selection.layout`): the epoch shuffles within L shards and
  every batch takes batch_size / L rows of each. Its state can be sharded over any number of devices
  dividing L, with the same selections and training data on all of them; 1 (default) is one uniform
  shuffle of the whole pool. The group presets (granularity other than "pool") need 1.
  Raises ValueError for an unknown name, a bad size, or a bad or unknown override."""
  check_choice("name", name, tuple(PRESETS))
  pool_size = check_int("pool_size", pool_size, 1)
  total_epochs = check_int("total_epochs", total_epochs, 1)
  recipe = PRESETS[name](pool_size, total_epochs, **overrides)
  if not isinstance(recipe, Recipe):
    raise ValueError(f"preset {name!r} must return a selection.Recipe, got {type(recipe).__name__}")
  if recipe.timetable.total_epochs != total_epochs:
    raise ValueError(f"preset {name!r} returned a timetable of {recipe.timetable.total_epochs} "
                     f"epochs for total_epochs={total_epochs}")
  check_choice("score_kind", recipe.score_kind, SCORE_KINDS)
  return Teacher(name, pool_size, recipe, logical_shards)
