"""Empirical ANTK on a 4-layer, width-128 byte-level GPT: Jacobian contraction vs NTK-vector products,
what `method="auto"` picks, and how large a pool the matrix-free top-20 eigensolver handles in 10 min.

Part 1, methods. Pool: 256 windows of 64 bytes (+1 target byte) of the standard library's source.
f(S) = the mean next-byte log-likelihood of S (a scalar per sequence), so K is f32[256, 256]
(x2=None). Each method runs in its own subprocess (ru_maxrss is that process's peak), in the order
jacobian, ntvp, jacobian, so that load from other processes on a shared machine shows up as the
spread between the two jacobian runs. Reported per method: compile seconds, run seconds (one call
after compiling), the compiled executable's memory analysis (arguments + outputs + temporaries) and
ru_maxrss. ntvp costs one VJP and one JVP over the 256-sequence pool per kernel column and does not
use symmetry; by default it computes --ntvp_columns columns, K(pool, pool[:C]), and its time for the
whole kernel is that run's time times 256 / C (its cost is exactly linear in the columns; the
entries are checked against the jacobian kernel).

Part 2, matrix-free spectrum. f(S) = next-byte logits at the last position, f32[256]; the full
kernel on output space (dimension N x 256, never formed). `ntk.top_eigenpairs(k=20,
chunk_size=64)` for pools 64, 128, ... doubling, while the measured time trend (linear in N)
predicts the next size finishes within --eigen_budget_s.

    PYTHONPATH=. python benchmarks/ntk_methods.py [--ntvp_columns 16] [--eigen_budget_s 600] \
        [--skip_methods | --skip_eigen] [--json PATH]
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import sysconfig  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from attent_jax import ntk  # noqa: E402
from attent_jax.models import gpt  # noqa: E402

SEQ_LEN, VOCAB = 64, 256
CONFIG = gpt.GPTConfig(vocab_size=VOCAB, max_len=SEQ_LEN, num_layers=4, num_heads=4, d_model=128,
                       d_mlp=512)


def byte_windows(count: int, seed: int = 0) -> np.ndarray:
  """`count` random windows of SEQ_LEN + 1 bytes of the standard library's .py source."""
  root = pathlib.Path(sysconfig.get_paths()["stdlib"])
  source = b"".join(p.read_bytes() for p in sorted(root.glob("*.py"))[:40])
  starts = np.random.default_rng(seed).integers(0, len(source) - SEQ_LEN - 1, count)
  return np.stack([np.frombuffer(source[s:s + SEQ_LEN + 1], np.uint8) for s in starts]).astype(
      np.int32)


def model():
  apply_fn, params = gpt.build(CONFIG, jax.random.key(0))

  def log_likelihood(params, batch):
    """f(S) = mean over positions of log p(S_{t+1} | S_<=t): f32[N]."""
    log_probs = jax.nn.log_softmax(apply_fn(params, {"inputs": batch["inputs"]}), axis=-1)
    picked = jnp.take_along_axis(log_probs, batch["targets"][..., None], axis=-1)[..., 0]
    return picked.mean(axis=-1)

  def next_byte_logits(params, batch):
    """f(S) = logits of the byte after S: f32[N, 256]."""
    return apply_fn(params, {"inputs": batch["inputs"]})[:, -1]

  return params, log_likelihood, next_byte_logits


def pool_of(windows: np.ndarray) -> dict[str, jax.Array]:
  return {"inputs": jnp.asarray(windows[:, :-1]), "targets": jnp.asarray(windows[:, 1:])}


def worker(method: str, pool: int, columns: int | None, out: str) -> None:
  """One method in this process: compile, run once, memory analysis; prints a JSON line."""
  params, log_likelihood, _ = model()
  x1 = pool_of(byte_windows(pool))
  x2 = None if columns is None else jax.tree.map(lambda a: a[:columns], x1)
  kernel_fn = jax.jit(functools.partial(ntk.empirical_ntk, log_likelihood, trace_axes=(),
                                        method=method))
  start = time.perf_counter()
  compiled = kernel_fn.lower(params, x1, x2).compile()
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  kernel = jax.block_until_ready(compiled(params, x1, x2))
  run_s = time.perf_counter() - start
  memory = compiled.memory_analysis()
  np.save(out, np.asarray(kernel))
  print(json.dumps({
      "method": method, "columns": columns or pool, "compile_s": compile_s, "run_s": run_s,
      "compiled_bytes": memory.argument_size_in_bytes + memory.output_size_in_bytes
      + memory.temp_size_in_bytes,
      "temp_bytes": memory.temp_size_in_bytes,
      "maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def run_worker(method: str, pool: int, columns: int | None, out: str) -> dict:
  command = [sys.executable, __file__, f"--worker={method}", f"--pool={pool}", f"--out={out}"]
  if columns is not None:
    command.append(f"--columns={columns}")
  done = subprocess.run(command, check=True, capture_output=True, text=True,
                        env={**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).parents[1])})
  result = json.loads(done.stdout.strip().splitlines()[-1])
  print(f"  {method:9s} columns={result['columns']:4d}  compile {result['compile_s']:6.1f}s  "
        f"run {result['run_s']:8.1f}s  compiled {result['compiled_bytes'] / 2**20:8.1f} MiB  "
        f"maxrss {result['maxrss_bytes'] / 2**20:8.1f} MiB", flush=True)
  return result


def compare_methods(pool: int, columns: int) -> dict:
  params, log_likelihood, _ = model()
  cost = ntk.estimate_cost(log_likelihood, params, pool_of(byte_windows(pool)), trace_axes=())
  print(f"cost model: F = {cost.forward_flops / 1e6:.1f} MFLOP per sequence, P = "
        f"{cost.num_params:,}; jacobian {cost.jacobian.flops / 1e9:.0f} GFLOP, "
        f"{cost.jacobian.peak_bytes / 2**20:.0f} MiB; ntvp {cost.ntvp.flops / 1e9:.0f} GFLOP, "
        f"{cost.ntvp.peak_bytes / 2**20:.0f} MiB; predicted ntvp/jacobian "
        f"{cost.ntvp_over_jacobian:.1f}; auto picks {cost.method!r}", flush=True)
  with tempfile.TemporaryDirectory() as tmp:
    runs = [run_worker("jacobian", pool, None, f"{tmp}/jac0.npy"),
            run_worker("ntvp", pool, columns, f"{tmp}/ntvp.npy"),
            run_worker("jacobian", pool, None, f"{tmp}/jac1.npy")]
    full, part = np.load(f"{tmp}/jac0.npy"), np.load(f"{tmp}/ntvp.npy")
  error = float(np.max(np.abs(part - full[:, :columns])) / np.max(np.abs(full)))
  jacobian_s = min(runs[0]["run_s"], runs[2]["run_s"])
  ntvp_s = runs[1]["run_s"] * pool / columns
  faster = "jacobian" if jacobian_s < ntvp_s else "ntvp"
  print(f"ntvp for the whole kernel: {ntvp_s:.0f}s (from {columns} columns); measured "
        f"ntvp/jacobian = {ntvp_s / jacobian_s:.1f} (jacobian runs {runs[0]['run_s']:.1f}s, "
        f"{runs[2]['run_s']:.1f}s); max |K_ntvp - K_jac| / max|K| = {error:.1e}; faster: "
        f"{faster}; auto picked {cost.method!r}: {'OK' if faster == cost.method else 'WRONG'}",
        flush=True)
  return {"cost_model": {"forward_flops": cost.forward_flops, "num_params": cost.num_params,
                         "jacobian_flops": cost.jacobian.flops, "ntvp_flops": cost.ntvp.flops,
                         "jacobian_peak_bytes": cost.jacobian.peak_bytes,
                         "ntvp_peak_bytes": cost.ntvp.peak_bytes, "auto": cost.method},
          "runs": runs, "ntvp_whole_kernel_s": ntvp_s, "measured_ratio": ntvp_s / jacobian_s,
          "faster": faster, "auto_correct": faster == cost.method, "max_rel_error": error}


def eigen_search(budget_s: float, start: int, k: int, chunk_size: int) -> list[dict]:
  params, _, next_byte_logits = model()
  results, size = [], start
  while True:
    x = pool_of(byte_windows(size, seed=1))
    begin = time.perf_counter()
    pairs = ntk.top_eigenpairs(next_byte_logits, params, x, k, chunk_size=min(chunk_size, size))
    seconds = time.perf_counter() - begin
    results.append({"pool": size, "seconds": seconds, "matvecs": pairs.num_matvecs,
                    "converged": pairs.converged, "top_eigenvalue": float(pairs.values[0]),
                    "kth_eigenvalue": float(pairs.values[-1])})
    print(f"  pool {size:6d} (dimension {size * VOCAB:9,d}): top-{k} in {seconds:7.1f}s, "
          f"{pairs.num_matvecs} products ({seconds / pairs.num_matvecs:.2f}s each), "
          f"converged={pairs.converged}, lambda_1={pairs.values[0]:.4g}, "
          f"lambda_{k}={pairs.values[-1]:.4g}", flush=True)
    predicted = 2 * seconds * (pairs.num_matvecs + 5) / pairs.num_matvecs  # linear in N
    if seconds > budget_s or predicted > budget_s:
      print(f"  next size {2 * size} predicted {predicted:.0f}s > budget {budget_s:.0f}s: stop",
            flush=True)
      return results
    size *= 2


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--pool", type=int, default=256)
  parser.add_argument("--ntvp_columns", type=int, default=16)
  parser.add_argument("--eigen_budget_s", type=float, default=600.0)
  parser.add_argument("--eigen_start", type=int, default=64)
  parser.add_argument("--eigen_k", type=int, default=20)
  parser.add_argument("--eigen_chunk", type=int, default=64)
  parser.add_argument("--skip_methods", action="store_true")
  parser.add_argument("--skip_eigen", action="store_true")
  parser.add_argument("--json", type=str, default=None)
  parser.add_argument("--worker", choices=("jacobian", "ntvp"), help=argparse.SUPPRESS)
  parser.add_argument("--columns", type=int, default=None, help=argparse.SUPPRESS)
  parser.add_argument("--out", type=str, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args.worker, args.pool, args.columns, args.out)
    return
  print(f"jax {jax.__version__}, {jax.devices()[0].platform}, {os.cpu_count()} host cores, "
        f"{platform.processor() or platform.machine()}, load average {os.getloadavg()}; "
        f"GPT {CONFIG.num_layers} layers, d_model {CONFIG.d_model}, seq_len {SEQ_LEN}, "
        f"vocab {VOCAB}", flush=True)
  report = {"jax": jax.__version__, "load_average_start": os.getloadavg()}
  if not args.skip_methods:
    print(f"Part 1: K(pool, pool) of the mean log-likelihood, pool {args.pool}", flush=True)
    report["methods"] = compare_methods(args.pool, args.ntvp_columns)
  if not args.skip_eigen:
    print(f"Part 2: matrix-free top-{args.eigen_k} eigenpairs of the next-byte-logits kernel",
          flush=True)
    report["eigen"] = eigen_search(args.eigen_budget_s, args.eigen_start, args.eigen_k,
                                   args.eigen_chunk)
  report["load_average_end"] = os.getloadavg()
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
  main()
