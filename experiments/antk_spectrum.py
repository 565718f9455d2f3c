r"""ANTK drift and eigenspectra of a probe batch while training, with and without the teacher.

  python -m experiments.antk_spectrum --config=attent_jax/configs/vit_digits.py:smoke \
      --workdir=/tmp/antk_spectrum --probe_size=32

Trains the config under its teacher preset and under "full_data" (no teacher), recording the probe
ANTK (traced over the outputs) at initialisation and after every epoch, and writes
antk_spectrum.json, antk_drift.png and antk_spectra.png to --workdir (runs in --workdir/<teacher>).
Smoke (the command above): about a minute on a 2-core CPU; a teacher's subset epochs take fewer
steps, so compare drift per optimizer step (the plots' x axis).
"""

from absl import app, flags, logging
from ml_collections import config_flags

from attent_jax import quiet_logs
from experiments import antk_report, antk_runs

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file[:smoke].",
                                          lock_config=False)
_WORKDIR = flags.DEFINE_string("workdir", None, "Runs, plots and numbers go here.")
_PROBE_SIZE = flags.DEFINE_integer("probe_size", 32, "Examples in the probe batch (K is N x N).")
_TEACHERS = flags.DEFINE_list("teachers", [], "Teacher presets to compare (default: the config's "
                              "and full_data).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  quiet_logs.keep_library_logs_to_warnings()
  recorders = antk_runs.record_runs(_CONFIG.value, _WORKDIR.value, probe_size=_PROBE_SIZE.value,
                                    teachers=_TEACHERS.value or None, progress=True)
  numbers = antk_report.save_report(recorders, _WORKDIR.value)
  for name, history in numbers.items():
    logging.info("%s: drift %s", name, history["drift"])
    print(f"{name}: final drift {history['drift'][-1]:.4f}, effective rank "
          f"{history['effective_rank'][0]:.2f} -> {history['effective_rank'][-1]:.2f}, "
          f"top eigenvalue {history['eigenvalues'][0][0]:.4g} -> {history['eigenvalues'][-1][0]:.4g}")


if __name__ == "__main__":
  app.run(main)
