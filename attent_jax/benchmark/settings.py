"""What each benchmark runs: per task, the scaled-down config, the method slots, the full-data frontier's
epoch budgets and the targets.

`experiments/benchmark.py --task=<task>` reproduces a recorded result exactly from `SETTINGS[task]`:
the config module and its overrides (epochs, pool limits: CPU-sized, stated in every results.md), the
full-data frontier (full data at several epoch budgets, each annealing its learning rate over its own
budget), the paper's AtteNT recipe for that regime, the best teacher found by the recorded tuning runs
(`candidates`, run with `--tune`), and the controls derived from it. The findings, and why the best
teacher is the best, are prose: benchmarks/<task>/notes.md. Pure data and small pure functions; nothing
runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections

# The method slots after the frontier, in the order each seed runs them (seed-major: every seed runs
# every method). The baseline, `full_data`, is the frontier's 100% budget.
BASELINE = "full_data"
SLOTS = ("full_data", "attent_paper", "attent_best", "random_subset", "infobatch")
# Full data at these fractions of the config's epochs (rounded to whole epochs); 1.0 is the baseline.
FRONTIER = (0.5, 0.75, 1.0)
FRONTIER_OF_3_EPOCHS = (1 / 3, 2 / 3, 1.0)  # Tasks of 3 epochs: 1, 2 and 3 epochs.
SMOKE_FRONTIER = (0.5, 1.0)  # :smoke configs (a pipeline check): two budgets, e.g. 2 and 3 epochs.
# Options that only say how a subset is ranked; a random subset on the same timetable drops them.
_RANKING_ONLY = ("method", "temperature", "normalize", "score_kind", "drop_top",
                 "random_share")
_RANKING_ONLY_CONFIG = ("teacher.class_balanced", "teacher.irreducible_from")
# A teacher config's `teacher.irreducible_from` of HOLDOUT: RHO-LOSS's irreducible-loss model is the
# task's full-data run (same seed) on a held-out pool, the `data.limit` examples after the task's pool
# (`runner.prepare_holdout`); its training time is recorded apart, not in the teacher's wall-clock.
HOLDOUT = "holdout"


@dataclasses.dataclass(frozen=True)
class TeacherChoice:
  """A preset of `attent_jax.selection.PRESETS` and overrides of its arguments; `why` says why.
  `epochs`: the run's epoch budget when it is not the config's (the frontier's shorter budgets).
  `config`: dotted config keys the teacher needs besides its preset's arguments (e.g.
  {"train.schedule_over": "epochs"} or {"teacher.class_balanced": True})."""
  name: str
  overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  why: str = ""
  epochs: int | None = None
  config: Mapping[str, Any] = dataclasses.field(default_factory=dict)

  def describe(self) -> str:
    args = {**self.overrides, **self.config,
            **({} if self.epochs is None else {"epochs": self.epochs})}
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(args.items()))
    return f"{self.name}({text})" if text else self.name


@dataclasses.dataclass(frozen=True)
class Target:
  """The speed-up a task must show: `min_saved_pct` less wall-clock to the baseline's final metric;
  for accuracy-like metrics also `max_final_drop` (absolute) below the baseline's final; with
  `beat_random`, ahead of the random subset on its timetable; with `above_frontier`, above the
  full-data frontier at its own wall-clock on every seed."""
  min_saved_pct: float
  max_final_drop: float | None = None
  beat_random: bool = False
  above_frontier: bool = False


@dataclasses.dataclass(frozen=True)
class TaskSettings:
  """One task's benchmark. `config_overrides` are dotted config keys (e.g. "train.epochs") applied to
  `attent_jax.configs.<config>.get_config()`; `smoke_overrides` to its :smoke variant instead.
  `base_task`: LoRA fine-tuning starts from the final params of that task's full-data run (seed 0).
  `frontier` (`smoke_frontier` for the :smoke config): the full-data budgets, fractions of the
  config's epochs."""
  config: str
  config_overrides: Mapping[str, Any]
  paper: TeacherChoice
  best: TeacherChoice
  target: Target
  candidates: Mapping[str, TeacherChoice] = dataclasses.field(default_factory=dict)
  smoke_overrides: Mapping[str, Any] = dataclasses.field(default_factory=dict)
  base_task: str | None = None
  frontier: tuple[float, ...] = FRONTIER
  smoke_frontier: tuple[float, ...] = SMOKE_FRONTIER


_INFOBATCH = TeacherChoice("infobatch", {}, "InfoBatch defaults: prune 0.5 below-mean, last 12.5% full")
_PAPER_COMPLEX = TeacherChoice(
    "attent_complex", {}, "the paper's from-scratch recipe: fresh scores, soft Gumbel-top-k, "
    "ratio 0.2 -> 0.8 linear over the cycles")
_TUNED = "the best of the recorded tuning runs (tuning.md); notes.md says why"
_PAPER_SIMPLE = TeacherChoice(
    "attent_simple", {}, "the paper's LoRA recipe: one full epoch, then the top 70% by the cached "
    "training loss, selected once")


def _cached(method: str, ratio: float, *, last_full_of: int | None = None, why: str = "",
            config: Mapping[str, Any] | None = None, **extra) -> TeacherChoice:
  """attent_complex on the free cached training losses, a constant `ratio` after the full first epoch.
  With `last_full_of` (the run's epochs), the last epoch is full too: 1 full, `last_full_of - 2` on
  the subset, 1 full. `config`: dotted config keys the teacher needs (`TeacherChoice.config`)."""
  timetable = {} if last_full_of is None else {"cycles": 1, "interval": last_full_of - 2}
  return TeacherChoice("attent_complex", {"source": "cached", "method": method, "ratio_start": ratio,
                                          "ratio_end": ratio, "ratio_kind": "constant", **timetable,
                                          **extra}, why, config=dict(config or {}))


def _reducible(method: str, ratio: float, source: str = "fresh", *,
               last_full_of: int | None = None) -> TeacherChoice:
  """RHO-LOSS's score: attent_complex on reducible losses (each pool example's loss under the current
  model minus its loss under a model trained on held-out examples, `HOLDOUT`) from `source` ("fresh"
  passes, or "cached" from the train step), a constant `ratio` after the full first epoch (and
  before a full last one with `last_full_of`, as in `_cached`)."""
  return _cached(method, ratio, last_full_of=last_full_of, source=source,
                 score_kind="reducible_loss", config={"teacher.irreducible_from": HOLDOUT})


def _small_loss(drop_top: float, why: str = "") -> TeacherChoice:
  """The small-loss rule of the noisy-label tasks: after a full first epoch, every epoch trains on all
  but the `drop_top` share of the pool with the highest de-biased cached losses (hard picks of the
  rest: ratio 1 - drop_top)."""
  return _cached("hard", round(1.0 - drop_top, 6), score_kind="relative_loss", drop_top=drop_top,
                 why=why)


# The noisy-label tasks' target: at least full data's final accuracy, ahead of the random subset and
# above the frontier on every seed.
_NOISY_TARGET = Target(min_saved_pct=0.0, max_final_drop=0.0, beat_random=True, above_frontier=True)
_EPOCH_LR = {"train.schedule_over": "epochs"}
_BALANCED = {"teacher.class_balanced": True}


def _vit_candidates(epochs: int) -> dict[str, TeacherChoice]:
  """The ViT tuning runs for a run of `epochs`: the paper-shaped cached recipes, then one idea each
  of the search beyond the paper (issue "Teaching that pays"): de-biased cached scores
  (relative_loss), the schedule on nominal epoch progress, hard and random picks mixed, the
  highest-loss tail dropped, class-balanced picks."""
  last = dict(last_full_of=epochs)
  relative = dict(score_kind="relative_loss")
  return {
      "soft_cached_r0.5": _cached("soft", 0.5),
      "soft_cached_r0.4_last_full": _cached("soft", 0.4, **last),
      "soft_cached_r0.5_last_full": _cached("soft", 0.5, **last),
      "hard_cached_r0.4_last_full": _cached("hard", 0.4, **last),
      "soft_relative_r0.5_last_full": _cached("soft", 0.5, **last, **relative),
      "soft_relative_r0.5_last_full_epoch_lr": _cached("soft", 0.5, **last, **relative,
                                                       config=_EPOCH_LR),
      "hard_relative_mix0.5_r0.5_last_full": _cached("hard", 0.5, **last, **relative,
                                                     random_share=0.5),
      "soft_relative_drop0.05_r0.5_last_full": _cached("soft", 0.5, **last, **relative,
                                                       drop_top=0.05),
      "soft_relative_balanced_r0.5_last_full": _cached("soft", 0.5, **last, **relative,
                                                       config=_BALANCED),
      # InfoBatch (the defaults, then on de-biased scores).
      "infobatch": _INFOBATCH,
      "infobatch_relative": TeacherChoice("infobatch", relative),
  }


_VIT_CANDIDATES = _vit_candidates(12)

# gpt_pycode's 3 benchmark epochs: "last_full" is one full epoch, one on the subset, one full.
_GPT_CANDIDATES = {
    "soft_cached_r0.5": _cached("soft", 0.5),
    "soft_cached_r0.7": _cached("soft", 0.7),
    "hard_cached_r0.7": _cached("hard", 0.7),
    "soft_cached_r0.5_last_full": _cached("soft", 0.5, last_full_of=3),
    # The search beyond the paper, tuned on ViT first (benchmarks/vit_fashion_mnist/tuning.md), here
    # on the kept teacher (cached soft top 50%, last epoch full): de-biased scores, the LR on epoch
    # progress, hard and random picks mixed, the highest-loss tail dropped.
    "soft_relative_r0.5_last_full": _cached("soft", 0.5, last_full_of=3,
                                            score_kind="relative_loss"),
    "soft_relative_r0.5_last_full_epoch_lr": _cached("soft", 0.5, last_full_of=3,
                                                     score_kind="relative_loss", config=_EPOCH_LR),
    "hard_relative_mix0.5_r0.5_last_full": _cached("hard", 0.5, last_full_of=3,
                                                   score_kind="relative_loss", random_share=0.5),
    "soft_relative_drop0.05_r0.5_last_full": _cached("soft", 0.5, last_full_of=3,
                                                     score_kind="relative_loss", drop_top=0.05),
    # RHO-LOSS (reducible loss; also tuned on vit_fashion_mnist_converged): its irreducible-loss
    # model trains on the 3000 windows after the pool.
    "hard_reducible_r0.5": _reducible("hard", 0.5),
    "soft_reducible_r0.7": _reducible("soft", 0.7),
    # The same scores cached from the train step (free; one pass of the held-out model per run).
    "hard_reducible_cached_r0.5": _reducible("hard", 0.5, "cached"),
    "soft_reducible_cached_r0.7": _reducible("soft", 0.7, "cached"),
    # InfoBatch, the one method above the frontier at equal training seconds on every seed
    # (results.md): with 3 epochs its defaults prune only the middle one. More pruning, and pruning
    # the last epoch too.
    "infobatch_p0.8": TeacherChoice("infobatch", {"prune": 0.8}),
    "infobatch_final_full0": TeacherChoice("infobatch", {"final_full": 0.0}),
    "infobatch_p0.8_final_full0": TeacherChoice("infobatch", {"prune": 0.8, "final_full": 0.0}),
    # InfoBatch's defaults beside a fresh frontier, then on de-biased scores: after epoch 0 a raw
    # cached loss ranks mostly by when it was recorded (rank correlation -0.81 with its step, the
    # de-biased score's -0.02: benchmarks/score_diagnostics.md), so "below the mean" is mostly
    # "seen late".
    "infobatch": _INFOBATCH,
    "infobatch_relative": TeacherChoice("infobatch", {"score_kind": "relative_loss"}),
    "infobatch_relative_final_full0": TeacherChoice("infobatch", {"score_kind": "relative_loss",
                                                                  "final_full": 0.0}),
}

_LORA_CANDIDATES = {
    "simple_r0.5": TeacherChoice("attent_simple", {"ratio_start": 0.5}),
    "simple_r0.8": TeacherChoice("attent_simple", {"ratio_start": 0.8}),
    "simple_soft_r0.7": TeacherChoice("attent_simple", {"method": "soft"}),
    "soft_cached_r0.7": _cached("soft", 0.7),
}

# mae_fashion_mnist's 6 epochs. Reconstruction errors span a narrower range than cross-entropies, so
# the softmax over them may favour the worst-reconstructed images only mildly; temperature 0.1
# sharpens it.
_MAE_CANDIDATES = {
    "soft_cached_r0.5_last_full": _cached("soft", 0.5, last_full_of=6),
    "soft_cached_r0.7_last_full": _cached("soft", 0.7, last_full_of=6),
    "hard_cached_r0.5_last_full": _cached("hard", 0.5, last_full_of=6),
    "soft_t0.1_cached_r0.5_last_full": _cached("soft", 0.5, last_full_of=6, temperature=0.1),
}

SETTINGS: dict[str, TaskSettings] = {
    "vit_fashion_mnist": TaskSettings(
        config="vit_fashion_mnist",
        config_overrides={},  # The default config as it is: 60k images, 10k test, 12 epochs.
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.5, last_full_of=12, why=_TUNED),
        target=Target(min_saved_pct=40.0, max_final_drop=0.002, beat_random=True,
                      above_frontier=True),
        candidates=_VIT_CANDIDATES,
    ),
    # The converged regime: a reduced pool (the first 10,000 training images; the full 10,000-image
    # test set) trained 24 epochs, about twice what full data needs to plateau (its recorded frontier:
    # 12, 18 and 24 epochs end within 0.45 points of each other, benchmarks/
    # vit_fashion_mnist_converged/results.md), the regime of the paper's long schedules at a size this
    # 2-core machine runs. The frontier adds budgets of 6, 8 and 10 epochs, so that teachers of low
    # ratios fall inside it, between budgets two epochs apart: between 6 and 12 epochs full data's
    # accuracy still climbs steeply and bends, and a straight line between budgets six epochs apart
    # lies below the curve, to the credit of any run that ends between them. Evaluating the 10,000
    # test images takes about half a second, as long as training about 2,700 images: a teacher's run
    # evaluates after every 10,000 examples trained, as full data does (eval_cadence "examples"),
    # not after each of its smaller epochs.
    "vit_fashion_mnist_converged": TaskSettings(
        config="vit_fashion_mnist",
        config_overrides={"data.limit": 10000, "train.epochs": 24, "train.eval_cadence": "examples"},
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.3, last_full_of=24, why=_TUNED),
        target=Target(min_saved_pct=40.0, max_final_drop=0.002, beat_random=True,
                      above_frontier=True),
        candidates={
            "soft_relative_r0.3_last_full": _cached("soft", 0.3, last_full_of=24,
                                                    score_kind="relative_loss"),
            "soft_relative_r0.5_last_full": _cached("soft", 0.5, last_full_of=24,
                                                    score_kind="relative_loss"),
            "hard_relative_mix0.5_r0.3_last_full": _cached("hard", 0.3, last_full_of=24,
                                                           score_kind="relative_loss",
                                                           random_share=0.5),
            "soft_cached_r0.3_last_full": _cached("soft", 0.3, last_full_of=24),
            # RHO-LOSS: the irreducible-loss model trains on the 10,000 images after the pool.
            "hard_reducible_r0.3_last_full": _reducible("hard", 0.3, last_full_of=24),
            "soft_reducible_r0.3_last_full": _reducible("soft", 0.3, last_full_of=24),
            "soft_reducible_cached_r0.3_last_full": _reducible("soft", 0.3, "cached",
                                                               last_full_of=24),
        },
        frontier=(0.25, 1 / 3, 5 / 12, 0.5, 0.75, 1.0),
    ),
    # 20% of the training labels flipped (seeded), test labels clean: the teacher must reach at least
    # full data's final accuracy. Its best: the small-loss rule, every epoch after the first trains on
    # all but the 20% highest de-biased cached losses (drop_top set to the known noise rate).
    "vit_fashion_mnist_noisy": TaskSettings(
        config="vit_fashion_mnist_noisy",
        config_overrides={},  # vit_fashion_mnist's defaults: 60k images (20% mislabelled), 12 epochs.
        paper=_PAPER_COMPLEX,
        best=_small_loss(0.2, "drops the highest-loss tail, where the flipped labels concentrate"),
        target=_NOISY_TARGET,
        candidates={
            "hard_relative_drop0.1_r0.9": _small_loss(0.1),
            "hard_relative_drop0.2_r0.8": _small_loss(0.2),
            "soft_relative_r0.5_last_full": _cached("soft", 0.5, last_full_of=12,
                                                    score_kind="relative_loss"),
            # More of the flipped labels dropped, at the cost of more clean hard examples.
            "hard_relative_drop0.3_r0.7": _small_loss(0.3),
            # The noise filter and a cheaper epoch at once: the tail dropped, then half the pool.
            "hard_relative_drop0.2_r0.5": _cached("hard", 0.5, score_kind="relative_loss",
                                                  drop_top=0.2),
            "random_drop0.2_r0.5": _cached("random", 0.5, score_kind="relative_loss", drop_top=0.2),
            # InfoBatch on what the filter keeps: the well-learned half thinned, reweighted.
            "infobatch_relative_drop0.2": TeacherChoice(
                "infobatch", {"drop_top": 0.2, "score_kind": "relative_loss"}),
            # Without InfoBatch's full last epochs (they would train on the flipped labels again).
            "infobatch_relative_drop0.2_no_full": TeacherChoice(
                "infobatch", {"drop_top": 0.2, "score_kind": "relative_loss", "final_full": 0.0}),
            # Its re-run on five seeds (infobatch_rerun/), beside the small-loss rule and two
            # controls: InfoBatch's defaults and a uniform random half of the pool after a full
            # first epoch (about the share it trains on; InfoBatch's counts depend on the scores,
            # so `random_like` cannot copy its timetable).
            "infobatch": _INFOBATCH,
            "random_r0.5": TeacherChoice("random_subset", {
                "like": "attent_complex", "source": "cached", "ratio_start": 0.5, "ratio_end": 0.5,
                "ratio_kind": "constant"}),
        },
    ),
    # RHO-LOSS as a teacher on noisy labels: the noisy-label task's pool cut to the first 50,000
    # images (20% of their labels flipped), so that the last 10,000 (flipped alike) train the
    # irreducible-loss model. Tuning runs only: benchmarks/vit_fashion_mnist_noisy/noise_filter.md
    # measured RHO-LOSS as a filter on the full task first.
    "vit_fashion_mnist_noisy_holdout": TaskSettings(
        config="vit_fashion_mnist_noisy",
        config_overrides={"data.limit": 50000},
        paper=_PAPER_COMPLEX,
        best=_small_loss(0.2, "the small-loss rule, the noisy-label task's first best teacher"),
        target=_NOISY_TARGET,
        candidates={
            "hard_relative_drop0.2_r0.8": _small_loss(0.2),
            "hard_reducible_r0.8": _reducible("hard", 0.8),
            "hard_reducible_cached_r0.8": _reducible("hard", 0.8, "cached"),
        },
    ),
    "gpt_pycode": TaskSettings(
        config="gpt_pycode",
        config_overrides={"data.limit": 3000, "data.eval_limit": 512, "train.epochs": 3,
                          "train.warmup_steps": 20},
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.7, why=_TUNED),
        target=Target(min_saved_pct=25.0, above_frontier=True),
        candidates=_GPT_CANDIDATES,
        frontier=FRONTIER_OF_3_EPOCHS,
    ),
    "gpt_lora": TaskSettings(
        config="gpt_lora",
        config_overrides={"data.limit": 2000, "data.eval_limit": 512, "train.epochs": 3},
        paper=_PAPER_SIMPLE,
        best=_cached("soft", 0.7, why=_TUNED),
        target=Target(min_saved_pct=25.0, above_frontier=True),
        candidates=_LORA_CANDIDATES,
        frontier=FRONTIER_OF_3_EPOCHS,
        base_task="gpt_pycode",
    ),
    "mae_fashion_mnist": TaskSettings(
        config="mae_fashion_mnist",
        # The default config (60k images, 6 epochs, probe 5000/2000), probing after every 60,000
        # examples trained: the probe is about 30% of a full-data run's wall-clock, and a teacher's run
        # probes as often per example trained as full data, not after each of its smaller epochs.
        config_overrides={"train.eval_cadence": "examples"},
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.5, last_full_of=6, temperature=0.1, why=_TUNED),
        target=Target(min_saved_pct=25.0, max_final_drop=0.002, beat_random=True,
                      above_frontier=True),
        candidates=_MAE_CANDIDATES,
    ),
    # MAE's converged regime: the first 10,000 training images, 32 epochs, where the probe accuracy of
    # full data has plateaued (a 48-epoch run flattens from about 20 epochs while its reconstruction
    # loss keeps falling: benchmarks/mae_fashion_mnist_converged/plateau_diagnostic.md; in the
    # recorded 32-epoch runs the last quarter adds a median 0.16 points). The probe runs every 8
    # epochs, at the end of every budget of the frontier (8, 16, 24 and 32 epochs): every 4 it was
    # 44% of the diagnostic's wall-clock. It scores the whole 10,000-image test set: on 2000 images
    # a seed's accuracy carries about 0.9 points of binomial noise, more than the plateau's slope.
    # A teacher's run probes after every 80,000 examples trained, as full data does (eval_cadence
    # "examples"), not after every 8 of its smaller epochs.
    "mae_fashion_mnist_converged": TaskSettings(
        config="mae_fashion_mnist",
        config_overrides={"data.limit": 10000, "train.epochs": 32, "train.eval_every_epochs": 8,
                          "train.eval_cadence": "examples", "probe.eval_examples": 10000},
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.7, last_full_of=32, why=_TUNED),
        target=Target(min_saved_pct=25.0, max_final_drop=0.002, beat_random=True,
                      above_frontier=True),
        candidates={
            "soft_cached_r0.3_last_full": _cached("soft", 0.3, last_full_of=32),
            "soft_cached_r0.5_last_full": _cached("soft", 0.5, last_full_of=32),
            "soft_cached_r0.7_last_full": _cached("soft", 0.7, last_full_of=32),
            "soft_relative_r0.3_last_full": _cached("soft", 0.3, last_full_of=32,
                                                    score_kind="relative_loss"),
        },
        frontier=(0.25, 0.5, 0.75, 1.0),
    ),
    "vit_digits": TaskSettings(
        config="vit_digits",
        config_overrides={"train.epochs": 10},
        paper=_PAPER_COMPLEX,
        best=_cached("soft", 0.5, why="untuned (test task)"),
        target=Target(min_saved_pct=0.0),
        smoke_overrides={"train.epochs": 3},
    ),
    # Prompt-masked SFT of a small LLaMA-architecture model on the offline arithmetic word problems,
    # judged by exact match of greedy answers (the kind's target, eval/exact_match). Scaled down so a
    # run takes about 40 s on 2 CPU cores: 1500 problems, 4 epochs, exact match on 64 test
    # prompts after every epoch; the full-data frontier at 2, 3 and 4 epochs. Untuned: the best slot
    # carries gpt_lora's tuned teacher over.
    "llama_sft": TaskSettings(
        config="llama_sft",
        config_overrides={"data.limit": 1500, "data.eval_limit": 256, "eval.generate_examples": 64,
                          "train.epochs": 4, "train.eval_batch_size": 64},
        paper=_PAPER_SIMPLE,
        best=_cached("soft", 0.7, why="untuned: gpt_lora's tuned teacher (cached soft top 70%)"),
        target=Target(min_saved_pct=25.0, above_frontier=True),
        smoke_overrides={"train.epochs": 2},
    ),
}


def task_settings(task: str) -> TaskSettings:
  if task not in SETTINGS:
    raise ValueError(f"unknown benchmark task {task!r}; expected one of {sorted(SETTINGS)}")
  return SETTINGS[task]


def random_like(best: TeacherChoice) -> TeacherChoice:
  """A uniform random subset on the timetable (ratios, intervals, re-draws) of `best`."""
  overrides = {k: v for k, v in best.overrides.items() if k not in _RANKING_ONLY}
  config = {k: v for k, v in best.config.items() if k not in _RANKING_ONLY_CONFIG}
  if best.name in ("full_data", "infobatch", "random_subset"):
    raise ValueError(f"the best teacher {best.name!r} has no selection timetable to copy")
  return TeacherChoice("random_subset", {"like": best.name, **overrides},
                       f"uniform random subsets on the timetable of {best.name}", config=config)


def frontier_key(epochs: int, config_epochs: int) -> str:
  """`full_data` for the config's own budget, else `full_data@<percent of its epochs>%`."""
  if epochs == config_epochs:
    return BASELINE
  return f"{BASELINE}@{math.floor(100 * epochs / config_epochs + 0.5)}%"


def frontier_teachers(fractions: Sequence[float], config_epochs: int) -> dict[str, TeacherChoice]:
  """Full data at each fraction of `config_epochs` (whole epochs, halves rounded up), shortest budget
  first and the baseline (the config's epochs, always included) last. Each run's learning-rate
  schedule anneals over its own budget (`experiment.make_optimizer` plans it from `train.epochs`).
  ValueError for a fraction outside (0, 1] or two budgets that round to the same epochs."""
  bad = [f for f in fractions if not 0.0 < f <= 1.0]
  if bad:
    raise ValueError(f"frontier budgets {bad} are not fractions in (0, 1] of the config's epochs")
  epochs = [max(1, math.floor(f * config_epochs + 0.5)) for f in fractions]
  if len(set(epochs)) < len(epochs):
    raise ValueError(f"frontier budgets {list(fractions)} of {config_epochs} epochs round to "
                     f"{epochs} epochs: two budgets are the same run; pick fractions further apart")
  teachers = {}
  for budget in sorted({*epochs, config_epochs}):
    key = frontier_key(budget, config_epochs)
    if key in teachers:
      raise ValueError(f"frontier budgets of {budget} epochs and another share the key {key!r}")
    teachers[key] = (
        TeacherChoice(BASELINE, {}, "the baseline and the frontier's longest budget: every example "
                      "every epoch")
        if budget == config_epochs else
        TeacherChoice(BASELINE, {}, f"the full-data frontier: {budget} of {config_epochs} epochs, "
                      "the learning rate annealed over its own budget", epochs=budget))
  return teachers


def method_teachers(settings: TaskSettings,
                    frontier: Mapping[str, TeacherChoice]) -> dict[str, TeacherChoice]:
  """`frontier` (as `frontier_teachers` builds it, the baseline included), then the slots after the
  baseline, in running order."""
  if BASELINE not in frontier:
    raise ValueError(f"the frontier {sorted(frontier)} lacks the baseline {BASELINE!r}")
  return {**frontier, "attent_paper": settings.paper, "attent_best": settings.best,
          "random_subset": random_like(settings.best), "infobatch": _INFOBATCH}


def tuning_teachers(settings: TaskSettings,
                    frontier: Mapping[str, TeacherChoice]) -> dict[str, TeacherChoice]:
  """`frontier` (the baseline included) and every recorded candidate (the runs behind the choice of
  `best`)."""
  if BASELINE not in frontier:
    raise ValueError(f"the frontier {sorted(frontier)} lacks the baseline {BASELINE!r}")
  return {**frontier, **settings.candidates}


def apply_overrides(config: ml_collections.ConfigDict, overrides: Mapping[str, Any]) -> None:
  """Sets dotted keys ("train.epochs") in place; an unknown key is a KeyError naming it."""
  for dotted, value in overrides.items():
    *parents, leaf = dotted.split(".")
    node = config
    for name in parents:
      node = node[name]
    if leaf not in node:
      raise KeyError(f"config has no field {dotted!r}")
    node[leaf] = value


def build_config(task: str, teacher: TeacherChoice, seed: int, *, smoke: bool = False,
                 extra_overrides: Mapping[str, Any] | None = None) -> ml_collections.ConfigDict:
  """The config of one benchmark run: the task's (smoke or scaled-down) config, the teacher, the seed,
  then `extra_overrides` (dotted keys; e.g. data directories for tests), then the teacher's epoch
  budget if it has one."""
  settings = task_settings(task)
  module = importlib.import_module(f"attent_jax.configs.{settings.config}")
  config = module.get_config("smoke" if smoke else None)
  apply_overrides(config, settings.smoke_overrides if smoke else settings.config_overrides)
  config.seed = seed
  config.teacher.name = teacher.name
  config.teacher.overrides = dict(teacher.overrides)
  apply_overrides(config, teacher.config)
  apply_overrides(config, extra_overrides or {})
  if teacher.epochs is not None:
    config.train.epochs = teacher.epochs
  return config


def config_epochs(task: str, *, smoke: bool = False,
                  extra_overrides: Mapping[str, Any] | None = None) -> int:
  """The epochs of `task`'s benchmark config (the frontier's 100% budget)."""
  return build_config(task, TeacherChoice(BASELINE), 0, smoke=smoke,
                      extra_overrides=extra_overrides).train.epochs
