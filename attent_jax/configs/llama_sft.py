"""Prompt-masked supervised fine-tuning of a LLaMA-architecture model, judged by exact match of the answer.

Command (offline default: a small LLaMA-architecture model trained from scratch on the generated
arithmetic word problems, byte tokens):
  python -m experiments.train --config=attent_jax/configs/llama_sft.py --workdir=runs/llama_sft
  (smoke: --config=attent_jax/configs/llama_sft.py:smoke, seconds on CPU: checks the pipeline, not the
  numbers)
Expected result: see EXPECTED (the run is recorded in benchmarks/config_runs/).

Each example is bos + prompt + response + eos; only the response and eos count in the loss, which is the
mean over each example's response tokens (the paper's released code averages over padding too; ours does
not). After each evaluation epoch the first `eval.generate_examples` test prompts are decoded greedily
(KV cache, fixed shapes) and `eval/exact_match` compares the number after `####` with the reference's.
Data: `data.name="arithmetic_problems"` (seeded, 1-4 steps, GSM8K's `#### <answer>` format) or
`data.name="sft_jsonl"` with `data.source_dir=<directory of train.jsonl, test.jsonl>` holding
MetaMathQA-style {"query", "response"} lines (MetaMathQA ships a JSON array: write one object per line).

The paper's regime: LoRA (rank 128 on q, k, v, o, gate, up, down, as in its release) on a local Hugging
Face LLaMA-family checkpoint (llama, mistral or qwen2 `config.json` + safetensors + `tokenizer.json`; its
config.json defines the model, its tokenizer.json the tokens), in bfloat16 compute with float32
adapters over a bfloat16 frozen base (`init.param_dtype`), FSDP over the GPUs (each tensor of the
checkpoint is read straight into its shards: no host copy of the whole model), e.g. for a 7B model on 8
GPUs of 80 GB:
  python -m experiments.train --config=attent_jax/configs/llama_sft.py --workdir=runs/llama7b_sft \
      --config.init.checkpoint=/models/Llama-2-7b-hf --config.lora.enabled=True \
      --config.lora.rank=128 --config.lora.alpha=256 --config.model.dtype=bfloat16 \
      --config.model.attention=dot_product --config.model.remat=True --config.train.fsdp=True \
      --config.init.param_dtype=bfloat16 \
      --config.data.name=sft_jsonl --config.data.source_dir=/data/metamathqa \
      --config.data.seq_len=512 --config.train.batch_size=64 --config.train.eval_batch_size=64 \
      --config.train.learning_rate=2e-4 --config.train.epochs=3
The same command runs on one GPU: benchmarks/lora_7b_memory.md gives the parameter, optimizer and
activation bytes with their formulas, and the batch that fits on 1 and on 8 GPUs (with remat and
dot_product, about 140 sequences of 512 tokens on one 80 GB GPU with the bfloat16 base).
Not run here: this machine has no GPU.
"""

from attent_jax.configs import base

EXPECTED = ("seed 0, 3 epochs, AtteNT-Simple (a full epoch of the 20000 problems, then the top 70% by the "
            "cached loss): exact match 0.449 on the first 256 test problems (0.129 after the first "
            "epoch, 0.340 after the second), response loss 0.125 nats/token, in 316 s of "
            "train+eval on 2 CPU cores; the same run on full data: 0.574 in 382 s "
            "(benchmarks/config_runs/)")


def get_config(arg: str | None = None):
  config = base.base_config()
  # Byte tokens by default; with a Hugging Face init.checkpoint, its tokenizer.json (config.data.tokenizer).
  config.data.update(name="arithmetic_problems", split="train", eval_split="test", seq_len=192)
  # 158k parameters: the size that learns in minutes on 2 CPU cores (about 10 steps of 16 examples per
  # second). Small batches: more updates in the minutes. On a GPU, scale it up freely.
  config.model = dict(kind="llama", vocab_size=259, max_len=256, num_layers=3, num_heads=4,
                      num_kv_heads=2, d_model=64, d_mlp=176, tie_embeddings=True, attention="einsum",
                      dtype="float32", remat=False)
  config.data.update(limit=20000, eval_limit=500)  # The generator's whole train split.
  config.eval.update(generate_examples=256, max_new_tokens=72)
  config.lora.targets = ("q", "k", "v", "o", "gate", "up", "down")
  config.teacher.name = "attent_simple"
  config.train.update(epochs=3, batch_size=16, eval_batch_size=128, learning_rate=3e-3, warmup_steps=30,
                      weight_decay=0.01, log_every_steps=25)
  if base.is_smoke(arg):
    config.data.update(limit=64, eval_limit=16)
    config.model.update(num_layers=1, num_heads=2, num_kv_heads=1, d_model=32, d_mlp=64)
    config.eval.update(generate_examples=16, max_new_tokens=8)
    config.train.update(epochs=2, batch_size=16, eval_batch_size=16, warmup_steps=2, log_every_steps=2)
  return config
