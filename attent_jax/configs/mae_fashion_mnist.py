"""ViT masked-autoencoder pre-training from scratch on Fashion-MNIST, then a linear probe of the encoder.

The paper's MultiMAE regime in miniature: the teacher selects images whose masked patches the model
reconstructs worst; quality is the probe accuracy of the frozen encoder (logistic regression).
Command:
  python -m experiments.train --config=attent_jax/configs/mae_fashion_mnist.py --workdir=runs/mae_fmnist
  (smoke: --config=attent_jax/configs/mae_fashion_mnist.py:smoke)
Expected result: see EXPECTED.
"""

from attent_jax.configs import base

EXPECTED = ("seed 0, 6 epochs: linear-probe test accuracy 0.794 with the default teacher (attent_complex, "
            "48 s of train+score+select+eval on 2 CPU cores), 0.805 with "
            "--config.teacher.name=full_data (61 s): seed 0 in benchmarks/mae_fashion_mnist/results.md")


def get_config(arg: str | None = None):
  config = base.base_config()
  config.data.name = "fashion_mnist_local"
  config.model = dict(kind="mae", image_size=28, patch_size=7, channels=1, num_layers=2, num_heads=4,
                      d_model=64, d_mlp=128, decoder_layers=1, decoder_d_model=32, decoder_num_heads=2,
                      decoder_d_mlp=64, mask_ratio=0.75, norm_pix_loss=True)
  config.teacher.name = "attent_complex"
  config.train.update(epochs=6, batch_size=128, learning_rate=2e-3, warmup_steps=100,
                      weight_decay=0.05)
  config.probe.update(enabled=True, train_examples=5000, eval_examples=2000)
  if base.is_smoke(arg):
    config.data.update(limit=512, eval_limit=256)
    config.model.update(num_layers=1, d_model=32, d_mlp=64)
    config.train.update(epochs=3, batch_size=64, eval_batch_size=128, warmup_steps=2,
                        log_every_steps=2)
    config.probe.update(train_examples=256, eval_examples=128)
  return config
