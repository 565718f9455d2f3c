"""Every preset over a toy 20-epoch run: the counts, re-selections and picks its docstring promises."""

import math
import os
import pathlib
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest
from selection_refs import (BATCH, EPOCHS, POOL, fresh_scores, np_hard_order, teacher,
                            training_losses, unsharded_plans)

from attent_jax import selection
from attent_jax.selection import recipes, rules


def cf(ratio, n):  # the documented rounding: half up, at least 1, at most n
  return min(n, max(1, math.floor(ratio * n + 0.5)))


def _held(selections: dict) -> list:
  """Per-epoch count when each selection epoch's count holds until the next selection."""
  counts, current = [], None
  for epoch in range(EPOCHS):
    current = selections.get(epoch, current)
    counts.append(current)
  return counts


INT_SELECTIONS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 16]  # INT's incremental, scaled to 20 epochs
INT_RATIO = lambda e: 0.2 + 0.08 * math.floor(10 * e / 20)  # noqa: E731  INT's step: at most 0.92
GRANT_ROUNDS = [r for r in range(19) if selection.interval_schedule(
    "curriculum", total_steps=19, dense_share=0.1)(r)]
GRANT_RATIO = lambda r: 0.1 + 0.9 * math.floor(50 * r / 19) / 50  # noqa: E731
COMPLEX = [POOL] + [cf(0.2 + 0.6 * c / 9, POOL) for c in range(10) for _ in range(2 if c < 9 else 1)]

def grant_sampler_quotas(ratio, n, batch):
  """GraNT's released sampler's per-batch counts, restated: ceil(n * ratio) spread over the batches in
  proportion to their sizes, int() of each share plus the carried remainder (float arithmetic included:
  its carry can lose one example)."""
  sizes = [batch] * (-(-n // batch) - 1) + [n % batch or batch]
  total, carried, quotas = math.ceil(n * ratio), 0.0, []
  for size in sizes:
    exact = size / n * total
    quotas.append(int(exact + carried))
    carried += exact - quotas[-1]
  return quotas


EXPECTED = {
    "full_data": ([POOL] * EPOCHS, []),
    "attent_simple": ([POOL] + [cf(0.7, POOL)] * 19, []),
    "attent_complex": (COMPLEX, list(range(1, 20, 2))),
    "random_subset": (COMPLEX, []),
    "int": (_held({e: cf(INT_RATIO(e), POOL) for e in INT_SELECTIONS}), INT_SELECTIONS),
    "grant_b": (_held({0: POOL, **{r + 1: BATCH * math.ceil(  # GraNT: ceil(ratio * batches)
        teacher("grant_b").timetable.ratio[r + 1] * (POOL // BATCH)) for r in GRANT_ROUNDS}}),
                [r + 1 for r in GRANT_ROUNDS]),
    "grant_s": (_held({0: POOL, **{r + 1: sum(grant_sampler_quotas(
        teacher("grant_s").timetable.ratio[r + 1], POOL, BATCH)) for r in GRANT_ROUNDS}}),
                [r + 1 for r in GRANT_ROUNDS]),
    "online_batch": ([POOL] + [cf(0.5, POOL)] * 19, []),
    "nint": ([POOL] + [cf(0.2, POOL)] * 19, [1, 10]),  # NTK refreshes at selections 1 and 10
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_counts_and_fresh_passes(name):
  counts, fresh = EXPECTED[name]
  t = teacher(name)
  plans = unsharded_plans(name)
  assert [int(p.count) for p in plans] == counts
  assert [t.expected_count(e) for e in range(EPOCHS)] == counts
  ratio = t.timetable.ratio  # a selection at ratio 1 is a full epoch, with no scoring pass
  assert [e for e in range(EPOCHS) if t.wants_fresh_scores(e)] == [e for e in fresh if ratio[e] < 1]
  for plan in plans:
    assert sorted(plan.indices.reshape(-1)) == list(range(POOL)) and np.all(plan.weights == 1.0)


def _kept(plan) -> set:
  return set(plan.examples()[0].tolist())


def test_attent_simple_keeps_the_top_70_percent_of_epoch_0_losses_once():
  plans = unsharded_plans("attent_simple")
  top = set(np_hard_order(training_losses(0))[: cf(0.7, POOL)].tolist())
  assert all(_kept(p) == top for p in plans[1:])
  assert [bool(p.reselected) for p in plans] == [False, True] + [False] * 18
  assert not np.array_equal(plans[1].indices, plans[2].indices)  # same subset, new order


def test_int_selects_the_top_of_each_fresh_pass_and_reuses_it():
  plans = unsharded_plans("int")
  for epoch in INT_SELECTIONS:
    count = int(plans[epoch].count)
    assert _kept(plans[epoch]) == set(np_hard_order(fresh_scores(epoch))[:count].tolist())
  assert _kept(plans[9]) == _kept(plans[8]) and bool(plans[10].reselected)


def test_attent_complex_redraws_soft_subsets_between_fresh_passes():
  plans = unsharded_plans("attent_complex")
  assert all(bool(p.reselected) for p in plans[1:])  # soft: every subset epoch is a new draw
  assert _kept(plans[3]) != _kept(plans[4])


def test_infobatch_prunes_below_mean_and_reweights():
  plans = unsharded_plans("infobatch")
  cache = np.zeros(POOL, np.float32)
  for epoch, plan in enumerate(plans):
    kept = np.zeros(POOL, bool)
    kept[plan.examples()[0]] = True
    if epoch == 0 or epoch >= 17:  # floor(0.875 * 20) = 17
      assert kept.all() and np.all(plan.weights == 1.0)
    else:
      below = cache < cache.mean()
      assert kept[~below].all() and 0 < (~kept).sum() < below.sum()
      np.testing.assert_array_equal(plan.weights, np.where(below & kept, 2.0, 1.0)[plan.indices])
    trained = plan.examples()[0]
    cache[trained] = training_losses(epoch)[trained]
  t = teacher("infobatch")
  assert t.expected_count(5) == round(POOL * 0.75) and t.expected_count(17) == POOL


def test_infobatch_drop_top_excludes_the_highest_cached_losses_first():
  drop = round(0.25 * POOL)
  plans = unsharded_plans("infobatch", drop_top=0.25)
  cache = np.zeros(POOL, np.float32)
  for epoch, plan in enumerate(plans):
    kept = np.zeros(POOL, bool)
    kept[plan.examples()[0]] = True
    if epoch == 0 or epoch >= 17:  # full epochs keep everything, the tail included
      assert kept.all()
    else:
      tail = np.zeros(POOL, bool)
      tail[np_hard_order(cache)[:drop]] = True  # ties to the lower id, as rules.pool
      rest = ~tail
      below = rest & (cache < cache[rest].mean())
      assert not kept[tail].any() and kept[rest & ~below].all()
      np.testing.assert_array_equal(plan.weights, np.where(below & kept, 2.0, 1.0)[plan.indices])
    trained = plan.examples()[0]
    cache[trained] = training_losses(epoch)[trained]
  t = teacher("infobatch", drop_top=0.25)
  assert t.expected_count(5) == round((POOL - drop) * 0.75) and t.expected_count(17) == POOL


@pytest.mark.parametrize("kind", ["loss", "relative_loss"])
def test_infobatch_prunes_by_its_score_kind(kind):
  t = teacher("infobatch", score_kind=kind)
  assert (t.score_kind, t.reads) == (kind, (kind,))


def test_nint_mixes_ntk_residual_and_random_picks():
  plans = unsharded_plans("nint")
  share = 0.3 * math.exp(-1)  # NINT's 0.3 exp(floor(-c / 10)) for selections c = 1 .. 19
  np.testing.assert_allclose(teacher("nint").timetable.ntk_share[1:], share)
  loss_cache = np.zeros(POOL, np.float32)
  for epoch in range(EPOCHS):
    if epoch in (1, 5, 10, 19):  # 19 picks = floor(0.110 * 19) = 2 NTK + floor(0.190 * 19) = 3
      # residual + 14 random, as NINT's hierarchical sampler splits them
      ntk_top = np_hard_order(fresh_scores(1 if epoch < 10 else 10))[:2]  # the latest NTK pass
      rest = np.setdiff1d(np.arange(POOL), ntk_top)
      residual_top = rest[np_hard_order(loss_cache[rest])[:3]]
      np.testing.assert_array_equal(teacher("nint").recipe.rule.picks[epoch], [19, 2, 3])
      assert int(plans[epoch].count) == 19
      assert set(ntk_top.tolist()) | set(residual_top.tolist()) <= _kept(plans[epoch])
    trained = plans[epoch].examples()[0]
    loss_cache[trained] = training_losses(epoch)[trained]


def test_nint_share_decays_as_the_released_sampler():
  t = selection.make_teacher("nint", pool_size=POOL, total_epochs=71)
  table = t.timetable
  # selection c (epoch c): NTK refreshed at c = 1, 10, 20, ..., 50, share 0.3 exp(floor(-c/10)) held
  assert np.flatnonzero(table.fresh).tolist() == [1, 10, 20, 30, 40, 50]
  expected = [0.3 * math.exp(-max(1, c // 10)) for c in range(1, 60)] + [0.0] * 11
  np.testing.assert_allclose(table.ntk_share[1:], expected, rtol=1e-12)
  assert table.ntk_share[20] == pytest.approx(0.0406, abs=1e-4)


@pytest.mark.parametrize("call,match", [
    (lambda: selection.make_teacher("nope", pool_size=9, total_epochs=3), "name"),
    (lambda: selection.make_teacher("int", pool_size=0, total_epochs=3), "pool_size"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=0), "total_epochs"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, ratio_start=1.5),
     "ratio_start"),
    (lambda: selection.make_teacher("attent_complex", pool_size=9, total_epochs=3, ratio_end=0.0),
     "ratio_end"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, method="best"), "method"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, ratio_kind="exp"),
     "ratio_kind"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, interval_kind="weekly"),
     "interval_kind"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, granularity="shard"),
     "granularity"),
    (lambda: selection.make_teacher("grant_b", pool_size=9, total_epochs=3), "batch_size"),
    (lambda: selection.make_teacher("grant_b", pool_size=9, total_epochs=3, batch_size=10),
     "pool_size"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, cycles=3),
     "allowed overrides"),
    (lambda: selection.make_teacher("infobatch", pool_size=9, total_epochs=3, prune=1.0), "prune"),
    (lambda: selection.make_teacher("infobatch", pool_size=9, total_epochs=3, drop_top=1.0),
     "drop_top"),
    (lambda: selection.make_teacher("infobatch", pool_size=9, total_epochs=3, score_kind="ntk"),
     "score_kind"),
    (lambda: selection.make_teacher("random_subset", pool_size=9, total_epochs=3, like="infobatch"),
     "like"),
    (lambda: selection.make_teacher("random_subset", pool_size=9, total_epochs=3, method="hard"),
     "method"),
    (lambda: selection.make_teacher("int", pool_size=9, total_epochs=3, score_kind="grad"),
     "score_kind"),
    (lambda: selection.make_teacher("nint", pool_size=9, total_epochs=3, ntk_share=0.5),
     "ntk_share"),
    (lambda: selection.make_teacher("grant_s", pool_size=9, total_epochs=3, batch_size=3,
                                    lr_floor=0.0), "lr_floor"),
])
def test_bad_arguments_raise_before_compiling(call, match):
  with pytest.raises(ValueError, match=match):
    call()


def test_importing_selection_pulls_in_no_heavy_dependency():
  code = ("import sys, attent_jax.selection; print(sorted(m for m in sys.modules if m.split('.')[0] "
          "in ('flax', 'tensorflow_datasets', 'tensorflow', 'absl', 'chex', 'orbax', 'optax')))")
  root = pathlib.Path(__file__).resolve().parents[2]
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       cwd=root, env={**os.environ, "JAX_PLATFORMS": "cpu"})
  assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_grant_s_spreads_ceil_ratio_n_over_the_batches_as_grant_does():
  """GraNT's sampler: ceil(ratio * N) in all, each batch's proportional share rounded down with the
  remainder carried on. N = 100 in batches of 32 (32, 32, 32, 4), ratio 0.25: 25 = 8 + 8 + 8 + 1."""
  assert recipes.grant_quotas(0.25, 100, 32) == grant_sampler_quotas(0.25, 100, 32) == [8, 8, 8, 1]
  # ratio 0.3: 30 in all; shares 9.6, 9.6, 9.6, 1.2 -> 9, 10, 9, then int(1.2 + 0.8) in floats = 1
  assert recipes.grant_quotas(0.3, 100, 32) == grant_sampler_quotas(0.3, 100, 32) == [9, 10, 9, 1]
  t = selection.make_teacher("grant_s", pool_size=100, total_epochs=3, batch_size=32,
                             ratio_start=0.3, ratio_end=0.3, ratio_kind="constant")
  assert t.expected_count(1) == 29


def test_grant_b_lets_the_short_last_batch_compete_as_grant_does():
  """10 examples in batches of 4 ({4, 4, 2}): GraNT keeps ceil(0.5 * 3) = 2 batches, and its short last
  batch competes. Here it has the highest mean loss, so it is kept with the better full batch."""
  t = selection.make_teacher("grant_b", pool_size=10, total_epochs=2, batch_size=4, ratio_start=0.5,
                             ratio_end=0.5, ratio_kind="constant")
  assert t.recipe.rule.groups_kept[1] == 2 and t.expected_count(1) == 8
  scores = np.array([1, 1, 1, 1, 3, 3, 3, 3, 9, 9], np.float32)
  kept = rules.whole_groups(jnp.asarray(scores), jnp.arange(10), 4, 2, "hard", jnp.zeros(10), 1.0,
                            "softmax", short_last=True)
  np.testing.assert_array_equal(np.asarray(kept), scores > 1)
  no_short = rules.whole_groups(jnp.asarray(scores), jnp.arange(10), 4, 2, "hard", jnp.zeros(10), 1.0,
                                "softmax")
  np.testing.assert_array_equal(np.asarray(no_short), np.arange(10) < 8)
