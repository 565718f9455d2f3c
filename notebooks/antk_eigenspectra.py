# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # ANTK eigenspectra of a byte-level GPT
#
# The attention neural tangent kernel (ANTK) of a transformer f_θ is
# K_t(S, S') = <∂f_t(S)/∂θ, ∂f_t(S')/∂θ>. Gradient descent on θ is functional gradient descent
# with this kernel, which is why AtteNT's teacher picks the examples with the largest functional
# residual. This notebook computes the empirical ANTK of the project's GPT with `attent_jax.ntk`
# and looks at:
#
# 1. the kernel over all parameters vs. over the attention q/k/v projections only (the paper's ANTK);
# 2. its spectrum: dense `eigh` for a probe that fits, matrix-free Lanczos for a larger pool;
# 3. how the kernel drifts while training, with uniform batches vs. teacher-selected ones;
# 4. NINT's NTK-guided scores ||(K r)_i|| vs. the plain per-example loss the teacher ranks by.
#
# `f(S)` is the next-token logits at the last position of a byte sequence, f32[V]; kernels
# are traced over the vocabulary. Sizes come from the environment variable `ANTK_NOTEBOOK_SIZE`
# ("small", the default, runs in about 5 minutes on 2 CPU cores; "smoke" is what the tests run).
# The committed `.ipynb` holds the outputs of a "small" run. It needs the package and its
# `[notebooks]` extra installed in the kernel's environment (`make` does this for `.venv`; see the
# README's "Install" section), and runs from any working directory, `notebooks/` included.

# %%
import os
import pathlib
import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax

from attent_jax import losses, ntk
from attent_jax.models import gpt

SIZE = os.environ.get("ANTK_NOTEBOOK_SIZE", "small")
SIZES = {
    # smoke: the pool is the probe, unchunked, so every kernel function compiles once.
    "smoke": dict(layers=1, width=16, heads=2, seq_len=8, probe=6, check=6, pool=6, chunk=None,
                  top_k=3, steps=2, record_every=1, batch=4),
    "small": dict(layers=2, width=64, heads=4, seq_len=32, probe=32, check=8, pool=256, chunk=64,
                  top_k=10, steps=60, record_every=10, batch=32),
}
cfg = SIZES[SIZE]
plt.rcParams.update({"figure.dpi": 72, "savefig.dpi": 72})  # small PNGs in the committed notebook
print(f"size={SIZE}: {cfg}; devices: {jax.devices()[0].platform}")

# %% [markdown]
# ## Data and model
# Byte windows of the Python standard library's own source (offline, like the project's
# `python_code` dataset), and a freshly initialised GPT from `attent_jax.models.gpt`.

# %%
source = b"".join(pathlib.Path(module.__file__).read_bytes() for module in (os, pathlib))
rng = np.random.default_rng(0)
starts = rng.integers(0, len(source) - cfg["seq_len"] - 1, size=cfg["pool"] + 512)
windows = np.stack([np.frombuffer(source[s:s + cfg["seq_len"] + 1], np.uint8) for s in starts])
windows = windows.astype(np.int32)
pool = {"inputs": jnp.asarray(windows[:cfg["pool"], :-1])}
pool_targets = jnp.asarray(windows[:cfg["pool"], 1:])
train_windows = windows[cfg["pool"]:]
probe = {"inputs": pool["inputs"][:cfg["probe"]]}

config = gpt.GPTConfig(vocab_size=256, max_len=cfg["seq_len"], num_layers=cfg["layers"],
                       num_heads=cfg["heads"], d_model=cfg["width"], d_mlp=4 * cfg["width"])
apply_fn, params0 = gpt.build(config, jax.random.key(0))


def next_token_logits(params, batch):
  """f(S): the logits at the last position, f32[N, 256]."""
  return apply_fn(params, batch)[:, -1]


print(f"parameters: {ntk.num_params(params0):,} in all, "
      f"{ntk.num_params(params0, ntk.attention_qkv):,} in attention q/k/v")

# %% [markdown]
# ## The kernel over all parameters vs. the ANTK over q/k/v
# `method="auto"` picks between contracting per-example Jacobians and NTK-vector products by a
# FLOP/memory model; for a transformer (every weight reused at each position) the Jacobian
# contraction wins.

# %%
cost = ntk.estimate_cost(next_token_logits, params0, probe)
print(f"auto picks {cost.method!r}; predicted ntvp/jacobian time ratio {cost.ntvp_over_jacobian:.1f}")
kernels = {
    "all parameters": ntk.empirical_ntk(next_token_logits, params0, probe),
    "attention q/k/v (ANTK)": ntk.empirical_ntk(next_token_logits, params0, probe,
                                                 param_filter=ntk.attention_qkv),
}
spectra = {name: np.asarray(ntk.kernel_eigh(k)[0]) for name, k in kernels.items()}

fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, (name, kernel) in zip(axes, kernels.items()):
  image = ax.imshow(np.asarray(kernel) / np.max(np.abs(kernel)), cmap="RdBu_r", vmin=-1, vmax=1)
  ax.set_title(f"{name}\n(normalised)")
  ax.set_xlabel("sequence S'")
  ax.set_ylabel("sequence S")
fig.colorbar(image, ax=axes[1])
for name, values in spectra.items():
  axes[2].semilogy(np.clip(values, 1e-12, None) / values[0], ".-",
                   label=f"{name}: eff. rank {float(ntk.effective_rank(values)):.1f}")
axes[2].set_title("eigenvalues / largest")
axes[2].set_xlabel("index")
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Matrix-free spectra
# `top_eigenpairs` runs Lanczos with full reorthogonalisation on K v = J (Jᵀ v): one VJP and
# one JVP over the pool per step, never forming K. First a check against dense `eigh` on the
# first `check` probe sequences, with the kernel traced over the vocabulary (each traced product
# loops over the V = 256 vocabulary entries, so it is V times dearer). Then a larger pool with
# the full (untraced) kernel on output space: an operator of dimension N x V, never materialised.

# %%
check_batch = {"inputs": probe["inputs"][:cfg["check"]]}
reference, _ = ntk.kernel_eigh(kernels["all parameters"][:cfg["check"], :cfg["check"]])
k_check = min(cfg["top_k"], cfg["check"])
check = ntk.top_eigenpairs(next_token_logits, params0, check_batch, k_check, trace_axes=(-1,))
print("dense   ", np.asarray(reference[:k_check]))
print("lanczos ", check.values, f"({check.num_matvecs} products)")
np.testing.assert_allclose(check.values, reference[:k_check], rtol=1e-3)

start = time.perf_counter()
large = ntk.top_eigenpairs(next_token_logits, params0, pool, cfg["top_k"], chunk_size=cfg["chunk"])
print(f"pool of {cfg['pool']}: top-{cfg['top_k']} eigenvalues in "
      f"{time.perf_counter() - start:.1f}s, {large.num_matvecs} products, "
      f"converged={large.converged}")
weight = np.sum(np.square(np.asarray(large.vectors[0])), axis=-1)  # per-sequence share of v_1
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].semilogy(large.values, "o-")
axes[0].set_title(f"top eigenvalues, pool of {cfg['pool']}")
axes[1].bar(np.arange(cfg["pool"]), weight)
axes[1].set_title("share of the top eigenvector per sequence")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Kernel drift during training: uniform batches vs. the teacher
# Both runs take the same number of Adam steps. The teacher run scores a candidate batch twice
# the size of the training batch and trains on its highest-loss half (AtteNT's greedy rule);
# the uniform run trains on a random batch. A `DriftRecorder` (the same callback the training
# loop accepts) records the probe kernel every few steps.


# %%
def token_losses(params, batch, targets):
  loss, _ = losses.cross_entropy(apply_fn(params, batch), targets,
                                       jnp.ones(targets.shape, bool))
  return loss


optimizer = optax.adam(3e-3)


@jax.jit
def train_step(params, opt_state, inputs, targets):
  loss, grads = jax.value_and_grad(lambda p: token_losses(p, {"inputs": inputs}, targets).mean())(
      params)
  updates, opt_state = optimizer.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, loss


score_batch = jax.jit(token_losses)


def train(teacher: bool) -> ntk.DriftRecorder:
  recorder = ntk.DriftRecorder(probe, top_k=3)
  params, opt_state = params0, optimizer.init(params0)
  batch_rng = np.random.default_rng(1)
  recorder(0, 0, params, next_token_logits)
  for step in range(1, cfg["steps"] + 1):
    rows = batch_rng.choice(len(train_windows), 2 * cfg["batch"], replace=False)
    candidates = train_windows[rows]
    if teacher:
      scores = score_batch(params, {"inputs": candidates[:, :-1]}, candidates[:, 1:])
      chosen = candidates[np.argsort(-np.asarray(scores), kind="stable")[:cfg["batch"]]]
    else:
      chosen = candidates[:cfg["batch"]]
    params, opt_state, _ = train_step(params, opt_state, chosen[:, :-1], chosen[:, 1:])
    if step % cfg["record_every"] == 0:
      recorder(step, 0, params, next_token_logits)
  recorder.final_params = params
  return recorder


runs = {"uniform": train(teacher=False), "teacher (top-loss half)": train(teacher=True)}
fig, axes = plt.subplots(1, 3, figsize=(14, 3.5))
for name, recorder in runs.items():
  history = recorder.as_arrays()
  axes[0].plot(history["step"], history["drift"], "o-", label=name)
  axes[1].semilogy(history["step"], history["eigenvalues"][:, 0], "o-", label=name)
  axes[2].plot(history["step"], history["effective_rank"], "o-", label=name)
for ax, title in zip(axes, ["relative drift ||K_t - K_0|| / ||K_0||", "largest eigenvalue",
                            "effective rank (entropy)"]):
  ax.set_title(title)
  ax.set_xlabel("step")
  ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## NINT's NTK-guided scores vs. the loss
# score_i = ||(K r)_i|| with r = ∂(Σ loss)/∂f: how far one full-pool gradient step moves example
# i's outputs. One VJP and one JVP over the pool. Rank agreement with the plain loss shows how
# much the kernel reorders the teacher's greedy choice.


# %%
def last_token_loss(logits, batch):
  return losses.cross_entropy(logits, batch["next"])[0]


scored = {**pool, "next": pool_targets[:, -1]}
trained = runs["uniform"].final_params
guided = np.asarray(ntk.ntk_guided_scores(next_token_logits, trained, scored, last_token_loss,
                                          chunk_size=cfg["chunk"]))
plain = np.asarray(jax.jit(lambda p, b: last_token_loss(next_token_logits(p, b), b))(trained, scored))
rank = lambda v: np.argsort(np.argsort(v))
spearman = np.corrcoef(rank(guided), rank(plain))[0, 1]
plt.figure(figsize=(4.5, 4))
plt.scatter(plain, guided, s=10)
plt.xlabel("last-token loss")
plt.ylabel("NTK-guided score ||(K r)_i||")
plt.title(f"Spearman rank correlation {spearman:.2f}")
plt.tight_layout()
plt.show()
