"""The benchmark pipeline at smoke size (the frontier and every method slot, one seed) and its
arithmetic; the frontier's own arithmetic is in test_frontier.py."""

import json
import pathlib

import numpy as np
import pytest

from attent_jax import benchmark
from attent_jax.benchmark import readme, render, runner, settings, summary


def _history(points, metric="eval/accuracy"):
  """[(total seconds, metric)] -> a history with a 3:1 train:eval split."""
  return [{"epoch": i + 1, "examples": 10, metric: value, "time/total": t, "time/train": 0.75 * t,
           "time/eval": 0.25 * t} for i, (t, value) in enumerate(points)]


def test_summary_times_and_savings():
  base = [_history([(10, 0.5), (20, 0.7)]), _history([(10, 0.6), (20, 0.8)])]
  fast = [_history([(6, 0.75)]), _history([(5, 0.7), (12, 0.81)])]
  never = [_history([(5, 0.1)]), _history([(5, 0.2)])]
  table = summary.summarize({"full_data": base, "fast": fast, "never": never}, "eval/accuracy", True)
  assert table["median_target"] == pytest.approx(0.75)
  runs = table["methods"]["fast"]["runs"]
  assert runs[0]["to_seed"] == 6 and runs[0]["saved_seed"] == pytest.approx(70.0)
  assert runs[1]["to_seed"] == 12 and runs[1]["saved_seed"] == pytest.approx(40.0)
  assert runs[0]["to_seed_no_eval"] == pytest.approx(4.5)
  # Median target 0.75: seed 1's baseline reaches it at 20 s, seed 0's only at... never (0.7 < 0.75).
  assert runs[1]["to_median"] == 12 and runs[1]["saved_median"] == pytest.approx(40.0)
  assert runs[0]["saved_median"] is None  # its baseline never reached the median target
  agg = table["methods"]["never"]["agg"]
  assert agg["to_seed"] == {"median": None, "min": None, "max": None, "reached": 0, "n": 2}
  assert table["methods"]["full_data"]["agg"]["saved_seed"]["median"] == pytest.approx(0.0)
  verdict = summary.verdict(table, settings.Target(30.0, 0.1, beat_random=True), best="fast",
                            random="never")
  assert verdict["random_ok"] and verdict["final_ok"] and not verdict["met"]  # saved: median(None, 40)
  line = summary.describe_verdict(verdict)
  assert "(target 30%), MISSED" in line and "(at most 0.1), met" in line
  assert ": yes; gain over the full-data frontier" in line and line.endswith("frontier not recorded")


def test_verdict_when_neither_reaches_the_target_compares_finals():
  base = [_history([(10, 0.8)])]
  worse, better = [_history([(5, 0.3)])], [_history([(5, 0.4)])]
  table = summary.summarize({"full_data": base, "worse": worse, "better": better}, "eval/accuracy",
                            True)
  target = settings.Target(30.0, beat_random=True)
  assert summary.verdict(table, target, best="better", random="worse")["random_ok"]
  assert not summary.verdict(table, target, best="worse", random="better")["random_ok"]


def test_random_like_keeps_timetable_drops_ranking():
  best = settings.TeacherChoice("attent_complex", {"method": "hard", "source": "cached", "ratio_start": 0.4})
  random = settings.random_like(best)
  assert random.name == "random_subset"
  assert random.overrides == {"like": "attent_complex", "source": "cached", "ratio_start": 0.4}
  with pytest.raises(ValueError, match="no selection timetable"):
    settings.random_like(settings.TeacherChoice("infobatch"))


def test_teacher_config_keys_reach_the_config_and_the_random_control_keeps_only_the_timetable():
  best = settings.TeacherChoice(
      "attent_complex", {"source": "cached", "drop_top": 0.1, "random_share": 0.5},
      config={"train.schedule_over": "epochs", "teacher.class_balanced": True})
  config = settings.build_config("vit_digits", best, 0)
  assert config.train.schedule_over == "epochs" and config.teacher.class_balanced
  assert "schedule_over='epochs'" in best.describe()
  random = settings.random_like(best)
  assert random.overrides == {"like": "attent_complex", "source": "cached"}
  assert random.config == {"train.schedule_over": "epochs"}


def test_class_balanced_teacher_gets_the_pool_labels():
  from attent_jax import experiment  # pylint: disable=g-import-not-at-top
  choice = settings.TeacherChoice("attent_simple", {"ratio_start": 0.5},
                                  config={"teacher.class_balanced": True})
  config = settings.build_config("vit_digits", choice, 0)
  labels = np.repeat(np.arange(4), [10, 20, 30, 40])
  teacher = experiment.make_teacher(config, pool_size=100, labels=labels)
  assert teacher.expected_count(1) == 5 + 10 + 15 + 20
  with pytest.raises(ValueError, match="class_balanced needs a training pool with class labels"):
    experiment.make_teacher(config, pool_size=100)


def test_build_config_applies_settings_and_rejects_unknown_keys():
  choice = settings.TeacherChoice("infobatch", {"prune": 0.3})
  config = settings.build_config("vit_digits", choice, 2)
  assert (config.seed, config.teacher.name, config.train.epochs) == (2, "infobatch", 10)
  assert dict(config.teacher.overrides) == {"prune": 0.3}
  short = settings.build_config("vit_digits", settings.TeacherChoice("full_data", epochs=4), 0)
  assert short.train.epochs == 4 and settings.config_epochs("vit_digits", smoke=True) == 3
  with pytest.raises(KeyError, match="train.epohcs"):
    settings.build_config("vit_digits", choice, 0, extra_overrides={"train.epohcs": 1})
  with pytest.raises(ValueError, match="unknown benchmark task"):
    settings.task_settings("nope")


def test_every_task_builds_valid_teachers():
  from attent_jax import experiment  # pylint: disable=g-import-not-at-top
  for task, task_settings in settings.SETTINGS.items():
    frontier = settings.frontier_teachers(task_settings.frontier, settings.config_epochs(task))
    for choice in [*settings.method_teachers(task_settings, frontier).values(),
                   *task_settings.candidates.values()]:
      config = settings.build_config(task, choice, 0)
      # Raises on a bad preset or override.
      experiment.make_teacher(config, pool_size=1000, labels=np.arange(1000) % 10)


def test_smoke_benchmark_writes_record(data_dirs, tmp_path):
  tfds_dir, _, _ = data_dirs
  out = tmp_path / "out"
  kwargs = dict(seeds=1, workdir=tmp_path / "runs", out_dir=out, command="pytest smoke", smoke=True,
                budgets=(0.5,), extra_overrides={"data.data_dir": tfds_dir})
  record = benchmark.run_benchmark("vit_digits", **kwargs)
  methods = record["summary"]["methods"]
  expected = ["full_data@67%", *settings.SLOTS]  # 0.5 of 3 epochs rounds to 2; 1.0 always runs.
  assert list(methods) == expected and record["frontier_budgets"] == [0.5]
  assert record["teachers"]["full_data@67%"]["epochs"] == 2
  assert record["configs"]["full_data@67%"]["train"]["epochs"] == 2
  for method, data in methods.items():
    (row,) = data["runs"]
    assert 0.0 <= row["final"] <= 1.0
    assert row["total"] == pytest.approx(sum(row[p] for p in summary.PHASES), rel=1e-6)
  assert methods["attent_paper"]["runs"][0]["score"] > 0  # fresh scoring passes are counted
  assert methods["full_data"]["runs"][0]["saved_seed"] == pytest.approx(0.0)
  assert methods["full_data"]["runs"][0]["examples"] > methods["attent_paper"]["runs"][0]["examples"]
  frontier = record["summary"]["frontier"]
  assert frontier["methods"] == ["full_data@67%", "full_data"] and frontier["epochs"] == [2, 3]
  for method in settings.SLOTS[1:]:
    assert isinstance(methods[method]["runs"][0]["frontier_gain"], float)
  assert methods["full_data"]["runs"][0]["frontier_gain"] is None  # It is the frontier.
  assert set(record["verdict"]) >= {"saved_pct", "saved_ok", "frontier_gain", "met"}
  saved = json.loads((out / "results.json").read_text())
  assert set(saved["histories"]) == set(expected) and saved["machine"]["nproc"] >= 1
  assert saved["machine"]["packages"]["jax"] and "notes" not in saved
  assert saved["histories"]["full_data@67%"][0][-1]["epoch"] == 2
  assert (tmp_path / "runs" / "full_data_at_67pct" / "seed0" / "summary.json").is_file()
  text = (out / "results.md").read_text()
  assert "pytest smoke" in text and all(f"| {m} |" in text for m in expected)
  assert "Full-data frontier (medians over seeds" in text
  assert (out / "metric_vs_time.png").stat().st_size > 1000
  (out / "notes.md").write_text("Findings: a smoke test.\n")
  before = render.markdown(saved, notes="Findings: a smoke test.\n")
  rerendered = benchmark.rerender("vit_digits", out)  # re-derived from the recorded histories
  assert rerendered["summary"] == record["summary"] and rerendered["verdict"] == record["verdict"]
  assert (out / "results.md").read_text() == before and "Findings: a smoke test." in before
  with pytest.raises(ValueError, match="holds task 'vit_digits'"):
    benchmark.rerender("gpt_pycode", out)
  section = readme.task_section(saved, "Findings: a smoke test.")
  assert "pytest smoke" in section and all(f"| {m} |" in section for m in expected)
  assert section.endswith("Findings: a smoke test.")  # smoke: no plot line
  again = benchmark.run_benchmark("vit_digits", **kwargs)  # resumes: every run is read back
  assert again["summary"] == record["summary"]


def test_reducible_teacher_scores_with_a_model_trained_on_held_out_examples(data_dirs, tmp_path):
  """settings.HOLDOUT: each seed first trains full data on the examples after the pool; only the
  teacher that asks for it gets that model as its irreducible-loss model."""
  tfds_dir, _, _ = data_dirs
  teachers = {"full_data": settings.TeacherChoice("full_data"),
              "rho": settings._reducible("hard", 0.5)}  # pylint: disable=protected-access
  histories, info = runner.run_methods("vit_digits", teachers, [0], tmp_path, smoke=True,
                                       extra_overrides={"data.data_dir": tfds_dir})
  holdout = tmp_path / "holdout" / "seed0"
  assert info["configs"]["rho"]["teacher"]["irreducible_from"] == str(holdout)
  assert info["configs"]["full_data"]["teacher"]["irreducible_from"] == ""
  held_out = json.loads((holdout / "summary.json").read_text())["history"]
  assert info["holdout_seconds"] == [held_out[-1]["time/total"]]
  assert histories["rho"][0][-1]["time/score"] > 0  # the irreducible pass and the fresh passes
  assert min(r["examples"] for r in histories["rho"][0]) < 256
  with pytest.raises(ValueError, match="no examples are held out"):
    runner.prepare_holdout("vit_digits", 0, tmp_path, smoke=True,
                           extra_overrides={"data.data_dir": tfds_dir, "data.limit": 0})


def test_rerender_keeps_a_record_without_frontier_without_one(tmp_path):
  """A record from before the frontier re-renders; the frontier is said to be missing, not made up."""
  root = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "gpt_lora"
  recorded = json.loads((root / "results.json").read_text())
  recorded["histories"] = {m: h for m, h in recorded["histories"].items() if m == "full_data"
                           or not m.startswith("full_data")}  # as recorded before the frontier
  (tmp_path / "results.json").write_text(json.dumps(recorded))
  record = benchmark.rerender("gpt_lora", tmp_path)
  assert record["summary"]["frontier"] is None
  assert not [m for m in record["summary"]["methods"] if m.startswith("full_data@")]
  assert record["verdict"]["frontier_gain"] is None and record["verdict"]["frontier_ok"] is None
  assert not record["verdict"]["met"]
  text = (tmp_path / "results.md").read_text()
  assert "Full-data frontier: not recorded" in text and "| frontier not recorded |" in text
  assert "frontier not recorded (target: above it on every seed), not shown" in text


def test_readme_results_section_is_generated_from_the_recorded_files():
  """Every number in the README's Results section comes from benchmarks/ through `readme`."""
  root = pathlib.Path(__file__).resolve().parents[1]
  text = (root / "README.md").read_text()
  assert readme.readme_section(text) == readme.results_section(root / "benchmarks")


def test_glance_table_reads_each_task_from_its_record():
  """The at-a-glance row of a recorded task: attent_best's medians against full data's, the teacher
  with the highest median gain (in the metric's units), the target; a task without a frontier has none."""
  root = pathlib.Path(__file__).resolve().parents[1] / "benchmarks"
  record = json.loads((root / "gpt_pycode" / "results.json").read_text())
  methods = record["summary"]["methods"]
  best, base = methods["attent_best"]["agg"], methods["full_data"]["agg"]
  row = readme.glance_table([record]).splitlines()[2]
  top = max((m for m in methods if not m.startswith("full_data")),
            key=lambda m: methods[m]["agg"]["frontier_gain"]["median"])
  assert row.startswith(f"| gpt_pycode | {best['final']['median']:.4f} / "
                        f"{base['final']['median']:.4f} | "
                        f"{best['total']['median'] / base['total']['median']:.2f} | ")
  assert f"| {top}: {methods[top]['agg']['frontier_gain']['median']:+.3f} nats (" in row
  assert row.endswith("| missed |") and "points" not in row
  accuracy = json.loads((root / "vit_fashion_mnist_noisy" / "results.json").read_text())
  assert " points (" in readme.glance_table([accuracy]).splitlines()[2]
  record["summary"] = {**record["summary"], "frontier": None}
  assert len(readme.glance_table([record]).splitlines()) == 2  # the header only


def test_replace_section_keeps_the_rest_of_the_readme():
  text = "# t\n\nintro\n\n## Results\n\nold\n\n## Later\n\nkept\n"
  new = readme.replace_section(text, "## Results\n\nnew\n")
  assert new == "# t\n\nintro\n\n## Results\n\nnew\n\n## Later\n\nkept\n"
  assert readme.readme_section(new) == "## Results\n\nnew\n"
  assert readme.replace_section("# t\n", "## Results\n\nx\n") == "# t\n\n## Results\n\nx\n"
