"""LoRA fine-tuning of a pretrained GPT on a held-out part of the code corpus: the paper's LLM regime.

By default it starts from the final params of a `gpt_pycode` run (`--config.init.checkpoint=<workdir>`),
and fine-tunes on the `finetune` split (files never seen in pre-training); or from a local Hugging Face
GPT-2 directory (`--config.init.checkpoint=/path/to/gpt2`, then also set the model fields to match).
The teacher is AtteNT-Simple, as the paper ran it for fine-tuning.
Command:
  python -m experiments.train --config=attent_jax/configs/gpt_pycode.py --workdir=runs/gpt_pycode
  python -m experiments.train --config=attent_jax/configs/gpt_lora.py --workdir=runs/gpt_lora \
      --config.init.checkpoint=runs/gpt_pycode
  (smoke: --config=attent_jax/configs/gpt_lora.py:smoke fine-tunes a random tiny base: checks the
  pipeline in seconds, not the numbers)
Expected result: see EXPECTED (the run is recorded in benchmarks/config_runs/).
"""

from attent_jax.configs import base, gpt_pycode

EXPECTED = ("from the default gpt_pycode run's params, seed 0, 2 epochs, AtteNT-Simple: validation loss "
            "1.213 nats/byte on the held-out files (1.215 after the full first epoch), in 3 minutes of "
            "train+eval on 2 CPU cores")


def get_config(arg: str | None = None):
  config = gpt_pycode.get_config(arg)
  config.data.update(split="finetune", eval_split="finetune_validation", limit=0)
  config.lora.update(enabled=True, rank=16, alpha=16.0)
  config.init.checkpoint = "runs/gpt_pycode"
  config.teacher.name = "attent_simple"
  config.train.update(learning_rate=1e-3, warmup_steps=20)
  if base.is_smoke(arg):
    config.data.update(limit=256, eval_limit=64)
    config.lora.update(rank=4, alpha=4.0)
    config.init.checkpoint = ""  # Random base: the smoke run checks the pipeline, not the numbers.
  return config
