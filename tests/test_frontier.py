"""The full-data frontier on tiny synthetic histories: interpolation, sign, clamping, budgets, records,
rendering and the plain sentence the demo prints."""

import pytest

from attent_jax.benchmark import frontier, render, settings, summary


def _history(points, metric="eval/accuracy"):
  """[(total seconds, metric)] -> a history, one evaluation per epoch, all time spent training."""
  return [{"epoch": i + 1, "examples": 10, metric: value, "time/total": t, "time/train": t}
          for i, (t, value) in enumerate(points)]


def test_value_at_interpolates_linearly_in_seconds():
  points = [(100.0, 0.80), (50.0, 0.70), (75.0, 0.78)]  # Any order.
  assert frontier.value_at(points, 50.0) == (pytest.approx(0.70), "inside")
  assert frontier.value_at(points, 62.5) == (pytest.approx(0.74), "inside")
  assert frontier.value_at(points, 90.0) == (pytest.approx(0.792), "inside")
  assert frontier.value_at(points, 100.0) == (pytest.approx(0.80), "inside")
  assert frontier.value_at([(10.0, 1.0), (10.0, 3.0), (20.0, 5.0)], 10.0) == (2.0, "inside")
  with pytest.raises(ValueError, match="two or more budgets"):
    frontier.value_at([(10.0, 1.0)], 10.0)


def test_value_at_clamps_outside_the_budgets_and_says_so():
  points = [(50.0, 0.70), (100.0, 0.80)]
  assert frontier.value_at(points, 20.0) == (0.70, "before")  # Not extrapolated down to 0.64.
  assert frontier.value_at(points, 400.0) == (0.80, "after")  # Not extrapolated up to 1.40.


def test_gain_is_positive_above_the_frontier_for_either_direction():
  accuracy = [(50.0, 0.70), (100.0, 0.80)]
  assert frontier.gain(accuracy, 75.0, 0.77, True) == (pytest.approx(0.02), "inside")
  assert frontier.gain(accuracy, 75.0, 0.74, True) == (pytest.approx(-0.01), "inside")
  loss = [(50.0, 2.2), (100.0, 2.0)]  # Lower is better: 2.1 at 75 s.
  assert frontier.gain(loss, 75.0, 2.05, False) == (pytest.approx(0.05), "inside")
  assert frontier.gain(loss, 75.0, 2.15, False) == (pytest.approx(-0.05), "inside")
  assert frontier.gain(loss, 10.0, 2.1, False) == (pytest.approx(0.1), "before")


def test_frontier_teachers_budgets_keys_and_bad_input():
  teachers = settings.frontier_teachers((0.5, 0.75), 12)  # 1.0 is added: the baseline.
  assert list(teachers) == ["full_data@50%", "full_data@75%", "full_data"]
  assert [t.epochs for t in teachers.values()] == [6, 9, None]
  assert {t.name for t in teachers.values()} == {"full_data"}
  assert teachers["full_data@50%"].describe() == "full_data(epochs=6)"
  assert list(settings.frontier_teachers(settings.FRONTIER_OF_3_EPOCHS, 3)) == [
      "full_data@33%", "full_data@67%", "full_data"]
  with pytest.raises(ValueError, match=r"round to \[2, 2, 3\] epochs"):
    settings.frontier_teachers((0.5, 0.75, 1.0), 3)
  with pytest.raises(ValueError, match=r"\[0.0, 1.5\] are not fractions in \(0, 1\]"):
    settings.frontier_teachers((0.0, 0.5, 1.5), 12)
  with pytest.raises(ValueError, match="lacks the baseline"):
    settings.method_teachers(settings.SETTINGS["vit_digits"], {})


def _two_seed_table(teacher_runs, higher_is_better=True):
  """Frontier: seed 0 (50 s, 0.70), (100 s, 0.80); seed 1 (60 s, 0.72), (120 s, 0.82)."""
  histories = {
      "full_data@50%": [_history([(25, 0.5), (50, 0.70)]), _history([(30, 0.5), (60, 0.72)])],
      "full_data": [_history([(25, 0.5), (50, 0.6), (75, 0.7), (100, 0.80)]),
                    _history([(30, 0.5), (60, 0.6), (90, 0.7), (120, 0.82)])],
      "teacher": teacher_runs}
  return summary.summarize(histories, "eval/accuracy", higher_is_better)


def test_summarize_records_the_frontier_and_per_seed_gains():
  # Seed 0 ends at 0.77 after 75 s (frontier 0.75 there); seed 1 at 0.70 after 30 s (before the
  # fastest budget: compared with its 0.72).
  table = _two_seed_table([_history([(40, 0.6), (75, 0.77)]), _history([(30, 0.70)])])
  line = table["frontier"]
  assert line["methods"] == ["full_data@50%", "full_data"] and line["epochs"] == [2, 4]
  assert line["points"] == [[(50.0, 0.70), (100.0, 0.80)], [(60.0, 0.72), (120.0, 0.82)]]
  assert line["median"][0] == {"method": "full_data@50%", "epochs": 2, "seconds": 55.0,
                               "final": pytest.approx(0.71)}
  runs = table["methods"]["teacher"]["runs"]
  assert runs[0]["frontier_gain"] == pytest.approx(0.02) and runs[0]["frontier_side"] == "inside"
  assert runs[1]["frontier_gain"] == pytest.approx(-0.02) and runs[1]["frontier_side"] == "before"
  agg = table["methods"]["teacher"]["agg"]
  assert agg["frontier_gain"]["median"] == pytest.approx(0.0)
  assert agg["frontier_outside"] == {"before": 1, "after": 0}
  assert table["methods"]["full_data@50%"]["runs"][0]["frontier_gain"] is None
  # "saved" is against the baseline's time to the same target, never its total time.
  assert runs[0]["to_seed"] is None and table["methods"]["full_data"]["runs"][0]["saved_seed"] == 0.0


def test_verdict_and_sentence_on_the_frontier():
  target = settings.Target(0.0, above_frontier=True)
  below = _two_seed_table([_history([(75, 0.74)]), _history([(90, 0.76)])])
  verdict = summary.verdict(below, target, best="teacher")
  assert verdict["frontier_seeds_above"] == 0 and verdict["frontier_ok"] is False
  assert not verdict["met"]
  assert "above it on 0/2 seeds (target: above it on every seed), MISSED" in (
      summary.describe_verdict(verdict))
  sentence = summary.frontier_sentence(below)
  assert sentence.startswith("No teacher beats the full-data frontier") and "teacher -0.0100" in sentence
  above = _two_seed_table([_history([(75, 0.79)]), _history([(200, 0.9)])])
  verdict = summary.verdict(above, target, best="teacher")
  assert verdict["frontier_ok"] and verdict["frontier_outside"] == {"before": 0, "after": 1}
  assert "1 run slower than every budget, compared with the slowest" in summary.describe_verdict(verdict)
  assert summary.frontier_sentence(above).startswith(
      "Above the full-data frontier at their own wall-clock: teacher "
      "(gain: teacher +0.0600 (1 run slower")


def test_lower_is_better_gain_in_a_table():
  histories = {"full_data@50%": [_history([(50, 2.2)], "eval/loss")],
               "full_data": [_history([(50, 2.3), (100, 2.0)], "eval/loss")],
               "teacher": [_history([(75, 2.05)], "eval/loss")]}
  table = summary.summarize(histories, "eval/loss", False)
  assert table["methods"]["teacher"]["runs"][0]["frontier_gain"] == pytest.approx(0.05)
  teachers = {m: {"describe": m} for m in histories}
  text = render.table(table, teachers, render.README)
  assert "| teacher | `teacher` | 2.0500 | 75.0 | never | +0.0500 |" in text
  assert "| full_data@50% | `full_data@50%` | 2.2000 | 50.0 |" in text and "(frontier)" in text


def test_tables_say_plainly_when_the_frontier_was_not_recorded():
  histories = {"full_data": [_history([(50, 0.6), (100, 0.8)])], "teacher": [_history([(60, 0.7)])]}
  table = summary.summarize(histories, "eval/accuracy", True)
  assert table["frontier"] is None
  assert table["methods"]["teacher"]["runs"][0]["frontier_gain"] is None
  text = render.table(table, {m: {"describe": m} for m in histories}, render.MAIN)
  assert text.count("| frontier not recorded |") == 2
  assert render.describe_frontier(table).startswith("Full-data frontier: not recorded")
  assert summary.frontier_sentence(table).startswith("The full-data frontier was not recorded")


def test_per_seed_table_and_clamped_marks():
  table = _two_seed_table([_history([(75, 0.77)]), _history([(30, 0.70)])])
  teachers = {m: {"describe": m} for m in table["methods"]}
  per_seed = render.table(table, teachers, render.PER_SEED, seeds=[0, 1])
  assert "| teacher | 0 | 0.7700 | 75.0 |" in per_seed and "| +0.0200 |" in per_seed
  assert "| teacher | 1 | 0.7000 | 30.0 |" in per_seed and "| -0.0200 (1/1 clamped) |" in per_seed
  main = render.table(table, teachers, render.MAIN)
  assert "+0.0000 [-0.0200, +0.0200] (1/2 clamped)" in main
  assert "55.0 s" in render.describe_frontier(table)


def test_a_frontier_budget_anneals_its_learning_rate_over_its_own_epochs(data_dirs):
  """`full_data@50%` is not the first half of the full run: its cosine reaches the floor at its end."""
  from attent_jax import experiment  # pylint: disable=g-import-not-at-top
  tfds_dir, _, _ = data_dirs
  (short_key, short), (_, full) = settings.frontier_teachers((0.5,), 10).items()
  assert short_key == "full_data@50%"
  built = {}
  for name, teacher in (("short", short), ("full", full)):
    config = settings.build_config("vit_digits", teacher, 0,
                                   extra_overrides={"data.data_dir": tfds_dir})
    built[name] = experiment.build(config)
  train = built["full"].config.train
  floor = train.learning_rate * train.min_learning_rate_ratio
  short_steps, full_steps = (sum(built[n].steps_per_epoch) for n in ("short", "full"))
  assert len(built["short"].steps_per_epoch) == 5 and short_steps * 2 == full_steps
  assert float(built["short"].learning_rate(short_steps)) == pytest.approx(floor, rel=1e-5)
  assert float(built["full"].learning_rate(short_steps)) > 10 * floor  # Mid-anneal there.


def test_gain_with_evaluation_time_left_out():
  """Evaluation runs once per epoch: a 4-epoch subset run pays 4 evaluations where a 2-epoch
  full-data run of the same training seconds pays 2. The no-eval gain compares training seconds."""
  def history(epochs, train_per_epoch, value):
    return [{"epoch": e + 1, "examples": 10, "eval/accuracy": value,
             "time/train": train_per_epoch * (e + 1), "time/eval": 5.0 * (e + 1),
             "time/total": (train_per_epoch + 5.0) * (e + 1)} for e in range(epochs)]
  histories = {"full_data@50%": [history(2, 20.0, 0.70)], "full_data": [history(4, 20.0, 0.80)],
               "teacher": [history(4, 10.0, 0.72)]}
  table = summary.summarize(histories, "eval/accuracy", True)
  row = table["methods"]["teacher"]["runs"][0]
  # With eval: the teacher ends after 60 s, where the frontier (50 s: 0.70, 100 s: 0.80) is 0.72.
  assert row["frontier_gain"] == pytest.approx(0.0, abs=1e-9)
  # Without: 40 training seconds, the fastest budget's 40 s: 0.70.
  assert row["frontier_gain_no_eval"] == pytest.approx(0.02) and row["frontier_side_no_eval"] == "inside"
  assert table["frontier"]["points_no_eval"] == [[(40.0, 0.70), (80.0, 0.80)]]
  agg = table["methods"]["teacher"]["agg"]
  assert agg["frontier_outside_no_eval"] == {"before": 0, "after": 0}
  verdict = summary.verdict(table, settings.Target(0.0, above_frontier=True), best="teacher")
  assert verdict["frontier_gain_no_eval"] == pytest.approx(0.02)
  assert "with evaluation time left out: median +0.0200, above it on 1/1 seeds" in (
      summary.describe_verdict(verdict))
  assert "+0.0200" in render.table(table, {m: {"describe": m} for m in histories}, render.NO_EVAL)


def test_gain_at_equal_training_seconds_leaves_scoring_out():
  """A teacher that picks well but pays for fresh scoring passes: below the frontier at its
  wall-clock, above it at equal training seconds (the diagnostic column)."""
  def history(epochs, train_per_epoch, score_per_epoch, value):
    return [{"epoch": e + 1, "examples": 10, "eval/accuracy": value,
             "time/train": train_per_epoch * (e + 1), "time/score": score_per_epoch * (e + 1),
             "time/total": (train_per_epoch + score_per_epoch) * (e + 1)} for e in range(epochs)]
  histories = {"full_data@50%": [history(2, 20.0, 0.0, 0.70)],
               "full_data": [history(4, 20.0, 0.0, 0.80)],
               "teacher": [history(4, 10.0, 15.0, 0.75)]}
  table = summary.summarize(histories, "eval/accuracy", True)
  row = table["methods"]["teacher"]["runs"][0]
  # Wall-clock 100 s, past every budget: the baseline's 0.80, -0.05. Training seconds 40: 0.70.
  assert row["frontier_gain"] == pytest.approx(-0.05)
  assert row["frontier_gain_train"] == pytest.approx(0.05) and row["frontier_side_train"] == "inside"
  assert table["frontier"]["points_train"] == [[(40.0, 0.70), (80.0, 0.80)]]
  assert table["methods"]["teacher"]["agg"]["frontier_outside_train"] == {"before": 0, "after": 0}
  text = render.table(table, {m: {"describe": m} for m in histories}, render.TUNING)
  assert "equal training seconds" in text and "| -0.0500 (1/1 clamped) | +0.0500 |" in text
