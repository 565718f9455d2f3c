"""Byte-level GPT trained from scratch on the Python standard library's source code.

Command:
  python -m experiments.train --config=attent_jax/configs/gpt_pycode.py --workdir=runs/gpt_pycode
  (smoke: --config=attent_jax/configs/gpt_pycode.py:smoke)
Expected result: see EXPECTED (the run is recorded in benchmarks/config_runs/). The final params are
what `gpt_lora` fine-tunes by default.
"""

from attent_jax.configs import base

EXPECTED = ("seed 0, 2 epochs, the default teacher (attent_complex: a full epoch, then a fresh scoring pass "
            "and the top 20%): validation loss 1.320 nats/byte (1.337 after the first epoch), in 18 "
            "minutes of train+score+eval on 2 shared CPU cores (4.3 of them scoring)")


def get_config(arg: str | None = None):
  config = base.base_config()
  config.data.update(name="python_code", eval_split="validation", seq_len=128, eval_limit=2048)
  config.model = dict(kind="gpt", vocab_size=256, max_len=128, num_layers=2, num_heads=4, d_model=128,
                      d_mlp=512, positions="rotary", tie_embeddings=True, dropout=0.0)
  config.teacher.name = "attent_complex"
  config.train.update(epochs=2, batch_size=64, eval_batch_size=256, learning_rate=3e-3,
                      warmup_steps=100, weight_decay=0.01)
  if base.is_smoke(arg):
    config.data.update(seq_len=32, limit=256, eval_limit=64)
    config.model.update(max_len=32, num_layers=1, d_model=32, d_mlp=64)
    config.train.update(epochs=3, batch_size=32, eval_batch_size=64, warmup_steps=2,
                        log_every_steps=2)
  return config
