"""Per-device memory of the training state's initialisation, replicated vs. directly sharded (FSDP).

A ~110M-parameter GPT (GPT-2-small shape, 32k vocabulary) with AdamW, on 8 fake CPU devices. For each
layout the script compiles the init computation that `train.init_state` runs and reads XLA's
`memory_analysis()` of one device's program: arguments, outputs (the state each device holds) and temp
(scratch), and their sum, the peak the program can need. Nothing is executed, so it takes seconds.

  unsharded  the init as it ran before sharded initialisation: the whole state built on one device
             (and then `device_put` to the mesh);
  replicated `init_state(mesh=..., rules=DATA_PARALLEL_RULES)`: every device builds the whole state;
  fsdp       `init_state(mesh=..., rules=FSDP_RULES)`: each device builds only its shards.

  python benchmarks/sharded_init.py            # prints the table recorded in benchmarks/sharded_init.md
"""

import os

os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=8")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402  (after XLA_FLAGS)
import optax  # noqa: E402

from attent_jax import kinds, sharding, tasks  # noqa: E402
from attent_jax.models import gpt  # noqa: E402
from attent_jax.ntk import num_params  # noqa: E402
from attent_jax.train import state as state_lib  # noqa: E402

CONFIG = gpt.GPTConfig(vocab_size=32768, max_len=1024, num_layers=12, num_heads=12, d_model=768,
                       d_mlp=3072)
MB = 1e6


def _memory(compiled) -> dict[str, float]:
  stats = compiled.memory_analysis()
  row = {"arguments": stats.argument_size_in_bytes, "outputs": stats.output_size_in_bytes,
         "temp": stats.temp_size_in_bytes, "aliased": stats.alias_size_in_bytes}
  row["peak"] = row["arguments"] + row["outputs"] + row["temp"] - row["aliased"]
  return {name: value / MB for name, value in row.items()}


def main() -> None:
  task = tasks.Task(kind=kinds.get("gpt"), apply_fn=gpt.make_apply_fn(CONFIG),
                    init_fn=lambda key: gpt.build(CONFIG, key)[1], init_args=jax.random.key(0))
  optimizer = optax.adamw(1e-4)
  build = state_lib.state_fn(task, optimizer, seed=0)
  abstract = jax.eval_shape(build, task.init_args)
  mesh = sharding.make_mesh(8)
  count = num_params(abstract.params)
  state_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(abstract))
  print(f"GPT {CONFIG.num_layers}x{CONFIG.d_model}, vocab {CONFIG.vocab_size}: {count / 1e6:.1f}M "
        f"parameters; train state (params + AdamW moments) {state_bytes / MB:.0f} MB; "
        f"{jax.device_count()} devices, jax {jax.__version__}")
  layouts = {
      "unsharded": jax.jit(build),
      "replicated": jax.jit(build, out_shardings=state_lib.state_shardings(
          abstract, optimizer, mesh, sharding.DATA_PARALLEL_RULES)),
      "fsdp": jax.jit(build, out_shardings=state_lib.state_shardings(
          abstract, optimizer, mesh, sharding.FSDP_RULES)),
  }
  print("| init layout | per-device outputs (MB) | temp (MB) | arguments (MB) | peak per device (MB) |")
  print("|---|---:|---:|---:|---:|")
  for name, jitted in layouts.items():
    row = _memory(jitted.lower(task.init_args).compile())
    print(f"| {name} | {row['outputs']:.1f} | {row['temp']:.1f} | {row['arguments']:.3f} | "
          f"{row['peak']:.1f} |")


if __name__ == "__main__":
  main()
