"""`make demo`'s logic at smoke size: the frontier, the paper's recipe and the best teacher, one table,
one plot, one plain sentence about the frontier (the real demo is the same code on the full config)."""

from attent_jax import demo
from attent_jax.benchmark import settings


def test_demo_default_runs_are_the_benchmarks_seed0_methods():
  teachers = demo.demo_teachers()
  assert list(teachers) == ["full_data@50%", "full_data@75%", "full_data", "attent_paper",
                            "attent_best"]
  vit = settings.SETTINGS["vit_fashion_mnist"]
  assert teachers["attent_best"] == vit.best and teachers["attent_paper"] == vit.paper


def test_smoke_demo_prints_the_frontier_table_and_plot(data_dirs, tmp_path, capsys):
  tfds_dir, idx_dir, _ = data_dirs
  table = demo.run_demo(tmp_path, fashion_mnist_dir=idx_dir, smoke=True,  # budgets 0.5, 1.0
                        extra_overrides={"data.data_dir": tfds_dir})
  out = capsys.readouterr().out
  assert list(table["methods"]) == ["full_data@67%", "full_data", "attent_paper", "attent_best"]
  assert table["frontier"]["epochs"] == [2, 3]
  for method in ("attent_paper", "attent_best"):
    (row,) = table["methods"][method]["runs"]
    assert isinstance(row["frontier_gain"], float)
    assert f"| {method} | {row['final']:.4f} | {row['total']:.1f} |" in out
    assert f"{row['frontier_gain']:+.4f}" in out
  assert "| full_data@67% |" in out and "(frontier)" in out
  assert "Full-data frontier (medians over seeds" in out
  beats = [m for m in ("attent_paper", "attent_best")
           if table["methods"][m]["runs"][0]["frontier_gain"] > 0]
  plain = ("Above the full-data frontier at their own wall-clock: " + ", ".join(beats) if beats
           else "No teacher beats the full-data frontier")
  assert plain in out
  assert (tmp_path / "accuracy_vs_time.png").stat().st_size > 1000
  assert (tmp_path / "full_data_at_67pct" / "seed0" / "summary.json").is_file()
