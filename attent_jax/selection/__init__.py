"""attent_jax.selection: the teacher that picks what the learner trains on (jax and numpy only).

Pieces, usable separately inside your own JAX training loop:
  scores     per_example_loss, discrepancy                      (what to rank by)
  ranking    select, rank, selection_keys                        (hard / soft Gumbel / random top-k)
  sharded    global_top_k, top_count_mask                        (exact top-k over mesh-sharded scores)
  schedules  ratio_schedule, interval_schedule                   (how much, and when)
  online_batch  sampling_keys                                    (Loshchilov & Hutter's rank sampling)
  teacher    Teacher, TeacherState                               (the per-epoch protocol; see its doc)
  layout     Layout                                              (L logical shards: sharding, shuffle)
  plan       Plan, Plan.batches                                  (one epoch, in training order)
  recipes    Recipe, Randomness, the presets' rules              (a timetable plus a pure rule)
  presets    make_teacher, PRESETS, register                     (AtteNT, INT, GraNT, InfoBatch, ...)
  guards     jit_checks                                          (clear errors inside jit, via checkify)
"""

from attent_jax.selection.guards import jit_checks
from attent_jax.selection.layout import Layout
from attent_jax.selection.plan import Plan
from attent_jax.selection.presets import GRANULARITIES, PRESETS, SOURCES, make_teacher, register
from attent_jax.selection.recipes import Randomness, Recipe
from attent_jax.selection.ranking import METHODS, NORMALIZERS, rank, select, selection_keys
from attent_jax.selection.schedules import (
    INTERVAL_KINDS, RATIO_KINDS, count_for, interval_schedule, ratio_schedule)
from attent_jax.selection.scores import SCORE_KINDS, discrepancy, per_example_loss
from attent_jax.selection.sharded import DEFAULT_IMPL, IMPLS, global_top_k, top_count_mask
from attent_jax.selection.teacher import Teacher, TeacherState
from attent_jax.selection import sharded, timetable
from attent_jax.selection.timetable import Timetable

__all__ = [
    "DEFAULT_IMPL", "GRANULARITIES", "IMPLS", "INTERVAL_KINDS", "Layout", "METHODS", "NORMALIZERS",
    "PRESETS",
    "Plan", "RATIO_KINDS", "Randomness", "Recipe", "SCORE_KINDS", "SOURCES", "Teacher", "TeacherState",
    "Timetable", "count_for", "discrepancy", "global_top_k", "interval_schedule", "jit_checks", "make_teacher", "register",
    "per_example_loss", "rank", "ratio_schedule", "select", "selection_keys", "top_count_mask",
]
