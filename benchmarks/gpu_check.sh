#!/usr/bin/env bash
# Throughput check of the GPU fast path: llama_sft (LLaMA architecture, prompt-masked SFT on the offline
# arithmetic problems) in bfloat16 compute with float32 parameters and dot_product attention
# (jax.nn.dot_product_attention: cuDNN flash attention on GPU), trained for a fixed number of steps
# through the real training loop (attent_jax.train.run). Prints tokens/s and the model FLOPs
# utilisation: MFU = 6 * params * tokens/s / peak (attention FLOPs not counted, so MFU is a lower bound;
# tokens are all seq_len positions of every row, padding included, since the shapes are fixed).
#
# NOT YET RUN ON A GPU: written and dry-checked on CPU only (--dry: 3 steps, about a minute with
# compilation on 2 shared cores), in a session with no GPU. The first GPU run should record its output
# next to this script.
#
# Usage, from the repository root:
#   bash benchmarks/gpu_check.sh                    # GPU: ~200M-parameter model, seq 512, 30 steps
#   bash benchmarks/gpu_check.sh --peak=989e12      # peak FLOP/s per device (default: H100/H200 bf16
#                                                   # dense, 989e12; A100 bf16: 312e12)
#   bash benchmarks/gpu_check.sh --steps=50 --batch=64
#   bash benchmarks/gpu_check.sh --dry              # CPU dry check: tiny model, 3 steps, seconds
set -euo pipefail
cd "$(dirname "$0")/.."

PEAK=989e12 STEPS=30 BATCH=64 DRY=0
for arg in "$@"; do
  case "$arg" in
    --peak=*) PEAK="${arg#*=}" ;;
    --steps=*) STEPS="${arg#*=}" ;;
    --batch=*) BATCH="${arg#*=}" ;;
    --dry) DRY=1 ;;
    *) echo "unknown argument $arg (expected --peak=, --steps=, --batch=, --dry)" >&2; exit 2 ;;
  esac
done
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python3
WORKDIR="$(mktemp -d /tmp/gpu_check.XXXXXX)"
trap 'rm -rf "$WORKDIR"' EXIT

PEAK="$PEAK" STEPS="$STEPS" BATCH="$BATCH" DRY="$DRY" WORKDIR="$WORKDIR" "$PYTHON" - <<'PY'
import os

import jax

from attent_jax import train
from attent_jax.configs import llama_sft

dry, steps, batch = os.environ["DRY"] == "1", int(os.environ["STEPS"]), int(os.environ["BATCH"])
peak = float(os.environ["PEAK"])
config = llama_sft.get_config()
if dry:  # CPU: a tiny model, a few steps; checks the path, not the numbers.
  steps, batch, seq_len = 3, 8, 128
  config.model.update(num_layers=1, num_heads=2, num_kv_heads=1, d_model=32, d_mlp=64, max_len=seq_len)
else:
  seq_len = 512
  config.model.update(num_layers=16, num_heads=16, num_kv_heads=8, d_model=1024, d_mlp=2816,
                      max_len=seq_len)
config.model.update(dtype="bfloat16", attention="dot_product", remat=False)
config.data.update(seq_len=seq_len, limit=steps * batch, eval_limit=batch)
config.eval.update(generate_examples=0)  # Throughput only: no generation eval.
config.teacher.name = "full_data"
config.train.update(epochs=1, batch_size=batch, eval_batch_size=batch, warmup_steps=min(10, steps),
                    log_every_steps=max(steps, 1))
result = train.run(config, os.environ["WORKDIR"], progress=False)
seconds = result.timers["train"]  # The training steps' wall-clock; compilation is timed apart.
steps = result.final["step"]  # Steps really taken (an over-long prompt would leave the pool).
params = sum(leaf.size for leaf in jax.tree.leaves(result.params))
tokens_per_s = steps * batch * seq_len / seconds
devices = jax.device_count()
mfu = 6 * params * tokens_per_s / (peak * devices)
print(f"devices: {devices} x {jax.devices()[0].device_kind}; params {params:,}; "
      f"batch {batch} x seq {seq_len}; {steps} steps in {seconds:.2f} s "
      f"(compile {result.timers['compile']:.1f} s)")
print(f"tokens/s: {tokens_per_s:,.0f}")
print(f"MFU: {100 * mfu:.3g}% of {devices} x {peak:.3g} FLOP/s (6 * params * tokens/s; attention FLOPs "
      "not counted)")
PY
