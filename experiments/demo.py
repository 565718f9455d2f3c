"""`make demo`: the ViT trained twice on Fashion-MNIST, full data and AtteNT, side by side.

Same seed and epoch budget; prints the wall-clock split, final test accuracy, the time until AtteNT first
reaches the baseline's final accuracy and the time saved, and writes a plot of accuracy against time.
"""

from absl import app, flags

from attent_jax import demo, quiet_logs

_WORKDIR = flags.DEFINE_string("workdir", "runs/demo", "Where both runs and the plot go.")
_FASHION_MNIST_DIR = flags.DEFINE_string("fashion_mnist_dir", "/usr/share/datasets/fashion-mnist",
                                         "Directory of the Fashion-MNIST IDX files.")
_SMOKE = flags.DEFINE_bool("smoke", False, "A seconds-long version (tests).")


def main(argv):
  del argv
  quiet_logs.keep_library_logs_to_warnings()
  demo.run_demo(_WORKDIR.value, fashion_mnist_dir=_FASHION_MNIST_DIR.value, smoke=_SMOKE.value)


if __name__ == "__main__":
  app.run(main)
