"""`make demo`: does a teacher pay? The ViT on Fashion-MNIST, seed 0: the full-data frontier (full data
at 50%, 75% and 100% of its 12 epochs, each annealing its learning rate over its own budget), the
paper's AtteNT recipe and the best teacher found, in one table and one plot.

Prints per run the final test accuracy, the wall-clock split, the seconds to the full-data run's final
accuracy and the time saved to it, and the gain over the full-data frontier at the run's own wall-clock;
then says plainly whether any teacher ends above the frontier. The runs are the ViT benchmark's seed-0
runs of the same methods (attent_jax/benchmark/settings.py).
"""

from absl import app, flags

from attent_jax import demo, quiet_logs

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo", "Where the runs and the plot go.")
_FASHION_MNIST_DIR = flags.DEFINE_string("fashion_mnist_dir", "/usr/share/datasets/fashion-mnist",
                                         "Directory of the Fashion-MNIST IDX files.")
_BUDGETS = flags.DEFINE_list("budgets", [], "The frontier's full-data budgets, fractions of the "
                             "config's epochs (default the benchmark's 0.5,0.75,1.0; 1.0 always runs).")
_SMOKE = flags.DEFINE_bool("smoke", False, "A seconds-long version (tests).")


def main(argv):
  del argv
  try:
    budgets = tuple(float(b) for b in _BUDGETS.value)
  except ValueError as error:
    raise app.UsageError(f"--budgets={','.join(_BUDGETS.value)}: expected fractions such as "
                         f"0.5,0.75,1.0 ({error})") from error
  quiet_logs.keep_library_logs_to_warnings()
  demo.run_demo(_WORKDIR.value, fashion_mnist_dir=_FASHION_MNIST_DIR.value, smoke=_SMOKE.value,
                budgets=budgets)


if __name__ == "__main__":
  app.run(main)
