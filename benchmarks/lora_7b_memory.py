"""Memory on paper for LoRA fine-tuning of a LLaMA-2-7B-shaped model: the arithmetic behind
benchmarks/lora_7b_memory.md. Pure Python; prints the tables that document quotes.

    python benchmarks/lora_7b_memory.py
"""

from __future__ import annotations

GIB = 2 ** 30
LAYERS, D, F, HEADS, KV_HEADS, VOCAB = 32, 4096, 11008, 32, 32, 32_000
HEAD_DIM = D // HEADS
RANK = 128
GPU_GIB, USABLE = 80, 0.90          # Leave 10% to XLA's workspace and fragmentation.
BF16, F32 = 2, 4


def base_params() -> dict[str, int]:
  attn = D * HEADS * HEAD_DIM * 2 + D * KV_HEADS * HEAD_DIM * 2     # q, o + k, v
  mlp = 3 * D * F                                                   # gate, up, down
  per_layer = attn + mlp + 2 * D                                    # + two RMSNorm scales
  return {"embed": VOCAB * D, "lm_head": VOCAB * D, "layers": LAYERS * per_layer, "norm": D,
          "targeted kernels": LAYERS * (attn + mlp)}


def lora_params() -> int:
  q = o = RANK * (D + HEADS * HEAD_DIM)
  k = v = RANK * (D + KV_HEADS * HEAD_DIM)
  gate = up = down = RANK * (D + F)
  return LAYERS * (q + k + v + o + gate + up + down)


def activation_bytes_per_token(seq_len: int, attention: str, remat: bool) -> dict[str, float]:
  """Bytes kept for the backward pass per token (bf16 compute), whole model.

  Per layer without remat: residual x, ln1(x), q, k, v (after RoPE), attention output, residual h,
  ln2(h): 8 tensors of D (kv heads = heads here); gate, up, silu(gate), their product: 4 of F.
  einsum attention adds the float32 softmax and its bfloat16 cast: (4 + 2) * H * L per token.
  With per-block remat only each block's input (D) is kept; one block's full set is live while
  that block is recomputed. The float32 logits, their log-softmax and their gradient: 3 * 4 * V.
  """
  layer = BF16 * (8 * D + 4 * F) + (F32 + BF16) * HEADS * seq_len * (attention == "einsum")
  logits = 3 * F32 * VOCAB
  if remat:
    return {"kept": LAYERS * BF16 * D + logits, "transient block": layer}
  return {"kept": LAYERS * layer + logits, "transient block": 0.0}


def static_bytes(devices: int, base_bytes: int, remat: bool, shard_lora: bool) -> dict[str, float]:
  """Per-device bytes that do not scale with the batch, under FSDP over `devices`."""
  p = base_params()
  total = p["embed"] + p["lm_head"] + p["layers"] + p["norm"]
  lora = lora_params()
  lora_share = devices if shard_lora else 1
  # lora.wrap forms W' = W + (alpha/r) A B inside the forward pass; without remat every block's W'
  # (compute dtype) can stay alive as a residual of its matmul, i.e. one more copy of the targeted
  # kernels. With remat only one block's W' exists at a time. FSDP all-gathers one block's weights
  # at a time (x2 for prefetch) when devices > 1.
  merged = p["targeted kernels"] * BF16 / (LAYERS if remat else 1)
  gathered = 2 * (p["targeted kernels"] / LAYERS) * base_bytes if devices > 1 else 0
  return {"frozen base": total * base_bytes / devices,
          "LoRA params (f32)": lora * F32 / lora_share,
          "LoRA grads (f32)": lora * F32 / lora_share,
          "AdamW mu+nu (f32)": 2 * lora * F32 / lora_share,
          "merged W' residuals": merged,
          "FSDP gathered block": gathered}


def max_batch(devices: int, seq_len: int, attention: str, remat: bool, base_bytes: int = BF16,
              shard_lora: bool = False) -> tuple[int, float]:
  """(sequences per device that fit, GiB left for activations)."""
  budget = USABLE * GPU_GIB * GIB - sum(static_bytes(devices, base_bytes, remat, shard_lora).values())
  act = activation_bytes_per_token(seq_len, attention, remat)
  per_sequence = seq_len * (act["kept"] + act["transient block"])
  return max(0, int(budget // per_sequence)), budget / GIB


def main() -> None:
  p = base_params()
  total = p["embed"] + p["lm_head"] + p["layers"] + p["norm"]
  lora = lora_params()
  print(f"base parameters: {total:,} ({total * BF16 / GIB:.2f} GiB bf16, {total * F32 / GIB:.2f} GiB f32)")
  print(f"LoRA r={RANK} parameters: {lora:,} ({100 * lora / total:.2f}% of base); params+grads+AdamW "
        f"= 16 B each = {16 * lora / GIB:.2f} GiB")
  for devices in (1, 8):
    for remat in (False, True):
      s = static_bytes(devices, BF16, remat, shard_lora=False)
      print(f"\nstatic per device, {devices} GPU(s), remat={remat}: "
            + ", ".join(f"{k} {v / GIB:.2f}" for k, v in s.items())
            + f" -> {sum(s.values()) / GIB:.2f} GiB")
  print()
  for seq_len in (512, 1024):
    for attention in ("dot_product", "einsum"):
      for remat in (False, True):
        act = activation_bytes_per_token(seq_len, attention, remat)
        print(f"activations/token L={seq_len} {attention:11s} remat={remat!s:5}: kept "
              f"{act['kept'] / 2**20:.3f} MiB, transient block {act['transient block'] / 2**20:.3f} MiB")
  print("\nsequences per device that fit (bf16 frozen base; LoRA state replicated | sharded):")
  for devices in (1, 8):
    for seq_len in (512, 1024):
      for attention in ("dot_product", "einsum"):
        for remat in (False, True):
          b, left = max_batch(devices, seq_len, attention, remat)
          b_sh, _ = max_batch(devices, seq_len, attention, remat, shard_lora=True)
          b32, _ = max_batch(devices, seq_len, attention, remat, base_bytes=F32)
          print(f"  {devices} GPU L={seq_len:4d} {attention:11s} remat={remat!s:5}: {b:4d} | {b_sh:4d} "
                f"(global {devices * b}); {left:.1f} GiB for activations; f32 base: {b32}")


if __name__ == "__main__":
  main()
