"""ViT classifier on scikit-learn's 8x8 digits: seconds long, for tests and quick checks.

Command:
  python -m experiments.train --config=attent_jax/configs/vit_digits.py --workdir=runs/vit_digits
Expected result: test accuracy 0.903 after 20 epochs, 22 s on a 2-core CPU (benchmarks/config_runs/;
smoke: seconds, any accuracy).
"""

from attent_jax.configs import base


def get_config(arg: str | None = None):
  config = base.base_config()
  config.data.name = "sklearn_digits"
  config.model = dict(kind="vit", image_size=8, patch_size=2, channels=1, num_classes=10,
                      num_layers=2, num_heads=4, d_model=32, d_mlp=64, pool="mean", dropout=0.0)
  config.teacher.name = "attent_complex"
  config.train.update(epochs=20, batch_size=64, eval_batch_size=128, learning_rate=3e-3,
                      warmup_steps=20, log_every_steps=10)
  if base.is_smoke(arg):
    config.data.update(limit=256, eval_limit=128)
    config.model.update(num_layers=1, d_model=16, d_mlp=32, num_heads=2)
    config.train.update(epochs=3, batch_size=32, eval_batch_size=64, warmup_steps=2)
  return config
