"""ViT classifier trained from scratch on Fashion-MNIST (offline, Debian's IDX files), taught by AtteNT.

Command:
  python -m experiments.train --config=attent_jax/configs/vit_fashion_mnist.py --workdir=runs/vit_fmnist
  (smoke, seconds on CPU: --config=attent_jax/configs/vit_fashion_mnist.py:smoke)
Expected result: see EXPECTED (three seeds in benchmarks/vit_fashion_mnist/).
"""

from attent_jax.configs import base

EXPECTED = ("seed 0, 12 epochs: test accuracy 0.873 with the default teacher (attent_complex, 55 s of "
            "train+score+select+eval on 2 CPU cores), 0.879 with --config.teacher.name=full_data "
            "(83 s): the attent_paper and full_data rows of seed 0 in the benchmark's results.md "
            "(accuracies are exact on this machine; seconds are not: the best teacher's seed-0 run "
            "took 52 s in tuning.md and 45 s in results.md)")


def get_config(arg: str | None = None):
  config = base.base_config()
  config.data.name = "fashion_mnist_local"
  config.model = dict(kind="vit", image_size=28, patch_size=7, channels=1, num_classes=10,
                      num_layers=2, num_heads=4, d_model=64, d_mlp=128, pool="mean", dropout=0.0)
  config.teacher.name = "attent_complex"
  config.train.update(epochs=12, batch_size=128, learning_rate=2e-3, warmup_steps=100)
  if base.is_smoke(arg):
    config.data.update(limit=512, eval_limit=256)
    config.model.update(num_layers=1, d_model=32, d_mlp=64)
    config.train.update(epochs=3, batch_size=64, eval_batch_size=128, warmup_steps=2,
                        log_every_steps=2)
  return config
