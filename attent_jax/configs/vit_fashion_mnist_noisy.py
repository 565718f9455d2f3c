"""vit_fashion_mnist with 20% of the training labels flipped (fixed, seeded); the test labels stay clean.

The noisy-label task: greedy loss ranking keeps choosing mislabelled examples, so a teacher must show it
ranks difficulty, not noise. Everything but the data is `vit_fashion_mnist`'s. Which examples were
flipped is in the training pool (`attent_jax.data.label_noise`) and in workdir/flipped_labels.json.

Command:
  python -m experiments.train --config=attent_jax/configs/vit_fashion_mnist_noisy.py \\
      --workdir=runs/vit_fashion_mnist_noisy
  (smoke: --config=attent_jax/configs/vit_fashion_mnist_noisy.py:smoke)
Expected result: seed 0, 12 epochs, full data: test accuracy 0.866 (0.879 on clean labels); three seeds,
with a teacher that drops the highest-loss tail and a random subset, in
benchmarks/vit_fashion_mnist_noisy/; the score diagnostics on it in benchmarks/score_diagnostics.md.
"""

from attent_jax.configs import vit_fashion_mnist

LABEL_NOISE = 0.2


def get_config(arg: str | None = None):
  config = vit_fashion_mnist.get_config(arg)
  config.data.update(label_noise=LABEL_NOISE, label_noise_seed=0)
  return config
