"""The binaries' log filter keeps the project's INFO lines and drops libraries' INFO chatter."""

import logging as std_logging
import os

from attent_jax import quiet_logs

_REPO = os.path.dirname(os.path.dirname(os.path.abspath(quiet_logs.__file__)))


def _record(pathname: str, level: int) -> std_logging.LogRecord:
  return std_logging.LogRecord("absl", level, pathname, 1, "message", None, None)


def test_filter_keeps_own_info_and_every_warning():
  keep = quiet_logs._OwnInfoOnly().filter
  orbax = f"{_REPO}/.venv/lib/site-packages/orbax/checkpoint/checkpoint_manager.py"  # Inside the clone.
  assert keep(_record(f"{_REPO}/attent_jax/train/loop.py", std_logging.INFO))
  assert keep(_record(f"{_REPO}/experiments/train.py", std_logging.INFO))
  assert not keep(_record(orbax, std_logging.INFO))
  assert not keep(_record("/venv/lib/site-packages/jax/_src/xla_bridge.py", std_logging.INFO))
  assert keep(_record(orbax, std_logging.WARNING))


def test_installing_twice_adds_one_filter():
  from absl import logging
  handler = logging.get_absl_handler()
  quiet_logs.keep_library_logs_to_warnings()
  quiet_logs.keep_library_logs_to_warnings()
  assert sum(isinstance(f, quiet_logs._OwnInfoOnly) for f in handler.filters) == 1
