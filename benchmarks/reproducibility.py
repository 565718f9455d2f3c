r"""What makes two runs of the same command bit-identical, and what does not: one short ViT run per setting.

  python benchmarks/reproducibility.py --out=benchmarks/reproducibility.json

Trains vit_fashion_mnist (full data, 1 epoch, the first 4096 training images, 1000 test images) once per
setting, each in a fresh process with a fresh workdir, and prints a SHA-256 of the final parameters with
the test accuracy and loss. Settings: the same command twice; one core (`taskset -c 0`) instead of two;
XLA's CPU code generation capped at lower vector extensions (`--xla_cpu_max_isa`: what a processor
without them would run); Eigen's thread pool off. Needs the Fashion-MNIST IDX files of Debian's
dataset-fashion-mnist package (`make fashion-mnist`). Takes a few minutes on 2 cores; timings are not the
point, so a busy machine is fine.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

from absl import app, flags

_OUT = flags.DEFINE_string("out", None, "Write the results as JSON here too.")

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHILD = r"""
import hashlib, sys, jax, numpy as np
from attent_jax import train
from attent_jax.configs import vit_fashion_mnist
config = vit_fashion_mnist.get_config()
config.teacher.name = "full_data"
config.data.update(limit=4096, eval_limit=1000, data_dir=sys.argv[2])
config.train.update(epochs=1, checkpoint_every_steps=0)
result = train.run(config, sys.argv[1], progress=False)
digest = hashlib.sha256(b"".join(np.asarray(x).tobytes() for x in jax.tree.leaves(result.params)))
print("RESULT", digest.hexdigest()[:16], result.final["eval/accuracy"], result.final["eval/loss"])
"""
# (name, command prefix, extra XLA_FLAGS)
SETTINGS = (
    ("reference (2 cores)", [], ""),
    ("same command again", [], ""),
    ("one core (taskset -c 0)", ["taskset", "-c", "0"], ""),
    ("Eigen thread pool off", [], "--xla_cpu_multi_thread_eigen=false"),
    ("vector ISA capped at AVX", [], "--xla_cpu_max_isa=AVX"),
    ("vector ISA capped at SSE4_2", [], "--xla_cpu_max_isa=SSE4_2"),
)


def run_setting(prefix: list[str], xla_flags: str, data_dir: str) -> dict:
  workdir = tempfile.mkdtemp(prefix="reproducibility_")
  env = dict(os.environ, PYTHONPATH=str(ROOT), JAX_PLATFORMS="cpu")
  env["XLA_FLAGS"] = xla_flags
  try:
    out = subprocess.run([*prefix, sys.executable, "-c", CHILD, workdir, data_dir], env=env, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
  finally:
    shutil.rmtree(workdir, ignore_errors=True)
  _, digest, accuracy, loss = next(l for l in out.splitlines() if l.startswith("RESULT")).split()
  return {"params_sha256": digest, "eval/accuracy": float(accuracy), "eval/loss": float(loss)}


def main(argv):
  del argv
  sys.path.insert(0, str(ROOT))
  from attent_jax.benchmark import runner  # pylint: disable=g-import-not-at-top
  data_dir = tempfile.mkdtemp(prefix="reproducibility_tfds_")
  results = {"command": "python benchmarks/reproducibility.py", "machine": runner.cpu(), "runs": {}}
  for name, prefix, xla_flags in SETTINGS:
    results["runs"][name] = run_setting(prefix, xla_flags, data_dir)
    reference = results["runs"][SETTINGS[0][0]]["params_sha256"]
    row = results["runs"][name]
    print(f"{name:30s} params {row['params_sha256']} "
          f"({'identical' if row['params_sha256'] == reference else 'DIFFERENT'})  "
          f"accuracy {row['eval/accuracy']:.4f}  loss {row['eval/loss']:.6f}", flush=True)
  shutil.rmtree(data_dir, ignore_errors=True)
  if _OUT.value:
    pathlib.Path(_OUT.value).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
  app.run(main)
