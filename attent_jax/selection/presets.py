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

from collections.abc import Callable

from attent_jax.checks import require_choice as check_choice
from attent_jax.checks import require_int as check_int
from attent_jax.checks import require_ratio as check_ratio
from attent_jax.selection import recipes, sharded, timetable
from attent_jax.selection.ranking import check_selection_args
from attent_jax.selection.recipes import Recipe
from attent_jax.selection.schedules import INTERVAL_KINDS, RATIO_KINDS, ratio_schedule
from attent_jax.selection.scores import SCORE_KINDS
from attent_jax.selection.teacher import Teacher

GRANULARITIES = ("pool", "within_batch", "batch", "super_batch")
SOURCES = ("fresh", "cached")

_SELECTION = dict(method="hard", temperature=1.0, normalize="softmax", score_kind="loss",
                  source="fresh", granularity="pool", batch_size=None, impl=sharded.DEFAULT_IMPL)
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
  check_choice("impl", o["impl"], sharded.IMPLS)


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
  if granularity == "pool":
    rule = recipes.TopK.over(table, n, impl=o["impl"], **ranking)
  elif granularity == "batch":
    rule = recipes.WholeGroups.over(table, n, group_size, **ranking)
  else:
    rule = recipes.WithinGroups.over(table, n, group_size, **ranking)
  return Recipe(table, rule, score_kind=o["score_kind"])


def _ratios(o: dict, rounds: int):
  check_choice("ratio_kind", o["ratio_kind"], RATIO_KINDS)
  return ratio_schedule(o["ratio_kind"], start=o["ratio_start"], end=o["ratio_end"],
                        total_steps=max(rounds - 1, 1), stages=o["stages"])


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
  epoch. Counts: N, then round(0.7 N) for epochs 1..E-1."""
  o = _options("attent_simple", {**_SELECTION, "source": "cached", "ratio_start": 0.7,
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
  training round(N * (0.2 + 0.6 c / 9)) both epochs."""
  o = _options("attent_complex", {**_SELECTION, "method": "soft", "cycles": 10, "ratio_start": 0.2,
                                  "ratio_end": 0.8, "ratio_kind": "linear", "interval": 5,
                                  "interval_end": None, "redraw": None}, overrides)
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
  """INT (ICML 2024): fresh scores, hard top-k, ratio stepping from 0.2 toward 1 in 10 stages over the
  epochs ("step"), re-selected on INT's incremental interval: every epoch for the first 25%, then at
  growing intervals (1, 2, 3, ... epochs on short runs; 10, 20, ... 50 on runs of 1000+). No warm-up.
  Counts with E = 20: selections at epochs 0-4, 5, 7, 10, 14 and 19, at
  round(N (0.2 + 0.08 floor(10 e / 19))) (epoch 19: ratio 1, full), each reused until the next."""
  return _curriculum_spec("int", n, e, {**_SELECTION, **_RATIO, **_INTERVAL,
                                        "interval_kind": "incremental", "warmup_epochs": 0}, overrides)


def _grant(name: str, granularity: str, n: int, e: int, overrides: dict) -> Recipe:
  defaults = {**_SELECTION, **_RATIO, **_INTERVAL, "granularity": granularity, "ratio_start": 0.1,
              "stages": 50, "interval_kind": "curriculum", "warmup_epochs": 1}
  return _curriculum_spec(name, n, e, defaults, overrides)


def grant_b(n: int, e: int, **overrides) -> Recipe:
  """GraNT-B (ICML 2025): one full epoch, then fresh scores and whole batches ranked by mean score
  (needs batch_size); the ratio of batches kept steps from 0.1 toward 1 (50 stages); re-selected every
  epoch for the first ratio_start share of the rounds, then at an interval growing linearly (1% -> 10%
  of the rounds, GraNT's 5 -> 50 epochs). Counts: batch_size * round(ratio * (N // batch_size))."""
  return _grant("grant_b", "batch", n, e, overrides)


def grant_s(n: int, e: int, **overrides) -> Recipe:
  """GraNT-S (ICML 2025): as grant_b, but keeps the top ratio of the examples inside every batch
  (needs batch_size). Counts: round(ratio * batch_size) per full batch plus round(ratio * rest)."""
  return _grant("grant_s", "within_batch", n, e, overrides)


def infobatch(n: int, e: int, **overrides) -> Recipe:
  """InfoBatch (ICLR 2024), unbiased pruning from the cached training losses: every epoch, examples
  scoring below the mean are dropped with probability `prune` (0.5) and the kept ones among them get
  loss weight 1 / (1 - prune); epoch 0 and the last `final_full` (0.125) share of epochs (from
  floor((1 - final_full) E)) train on the full pool. Counts: N on full epochs; in expectation
  N (1 - prune / 2) on pruned ones (exactly N minus the pruned)."""
  o = _options("infobatch", {"prune": 0.5, "final_full": 0.125}, overrides)
  prune = o["prune"]
  if isinstance(prune, bool) or not isinstance(prune, (int, float)) or not 0.0 < prune < 1.0:
    raise ValueError(f"prune must lie in (0, 1), got {prune!r}")
  final_full = o["final_full"]
  if isinstance(final_full, bool) or not isinstance(final_full, (int, float)) or not (
      0.0 <= final_full <= 1.0):
    raise ValueError(f"final_full must lie in [0, 1], got {final_full!r}")
  table = timetable.unbiased_pruning(e, float(prune), float(final_full))
  return Recipe(table, recipes.UnbiasedPrune(n * table.ratio, float(prune)))


def online_batch(n: int, e: int, **overrides) -> Recipe:
  """Online batch selection (Loshchilov & Hutter, 2015), top-b form: one full epoch, then every epoch
  the pool is shuffled into super-batches of super_batch_size (default batch_size / ratio, so each
  yields one training batch) and the top b = round(ratio * size) of each by cached training loss are
  kept. Needs batch_size. Counts: b per full super-batch plus round(ratio * rest)."""
  defaults = {**_SELECTION, **_RATIO, **_INTERVAL, "granularity": "super_batch", "source": "cached",
              "ratio_start": 0.5, "ratio_kind": "constant", "super_batch_size": None,
              "warmup_epochs": 1}
  return _curriculum_spec("online_batch", n, e, defaults, overrides)


def nint(n: int, e: int, **overrides) -> Recipe:
  """NINT (CVPR 2026): one full epoch, then a selection every epoch at INT's ratio (0.2 stepping toward
  1), mixing round(random_share (0.7) k) uniformly random picks, an NTK-guided share decaying linearly
  from 1 - random_share to 0 over the rounds (top NTK scores, score_kind "ntk"; the loop computes them,
  e.g. with attent_jax.ntk), and residual picks (top cached training loss) for the rest. NTK scores are
  refreshed (fresh pass) every `ntk_every` (10) selections. Counts: N, then at round r = epoch - 1
  round(N (0.2 + 0.08 floor(10 r / (E - 2)))) (INT's step ratio over the E - 1 rounds)."""
  o = _options("nint", {**_SELECTION, **_RATIO, "score_kind": "ntk", "random_share": 0.7,
                        "ntk_every": 10, "warmup_epochs": 1}, overrides)
  _check_selection(o)
  share = o["random_share"]
  if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0.0 <= share <= 1.0:
    raise ValueError(f"random_share must lie in [0, 1], got {share!r}")
  if o["method"] != "hard" or o["granularity"] != "pool":
    raise ValueError("nint picks by hard top-k over the pool: method must be 'hard' and granularity "
                     "'pool' (use random_subset(like='nint') for a random baseline)")
  every = check_int("ntk_every", o["ntk_every"], 1)
  warmup = _warmup(o, e)
  rounds = e - warmup
  check_ratio("ratio_start", o["ratio_start"]), check_ratio("ratio_end", o["ratio_end"])
  decay = lambda r: (1.0 - share) * (1.0 - r / max(rounds - 1, 1))  # noqa: E731
  table = timetable.curriculum(e, warmup, _ratios(o, rounds), lambda r: True,
                               fresh_at=lambda s: o["source"] == "fresh" and s % every == 0,
                               ntk_share_at=decay)
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
  table = recipe.timetable
  table = timetable.Timetable(table.phase, table.fresh & False, table.ratio, table.ntk_share)
  rule = recipe.rule
  if isinstance(rule, recipes.Mix):  # NINT's picks, all of them random
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


def make_teacher(name: str, *, pool_size: int, total_epochs: int, **overrides) -> Teacher:
  """The preset `name` (one of `PRESETS`) for a pool of `pool_size` examples trained `total_epochs`
  epochs, with `overrides` of its documented defaults. Static: build it once, outside `jit`.
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
  return Teacher(name, pool_size, recipe)
