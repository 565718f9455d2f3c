"""Readable logs for the binaries: the project's own INFO lines, without libraries' INFO chatter.

orbax logs a dozen INFO lines per checkpoint save, tfds one per dataset load; at absl's default
verbosity they drown the training log. `keep_library_logs_to_warnings()` drops INFO (and lower)
records from files outside `attent_jax` and `experiments`; warnings and errors always pass.
"""

from __future__ import annotations

import logging as std_logging
import os

from absl import logging

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# The library and, in a source checkout, the binaries beside it.
_OWN_DIRS = (_PACKAGE_DIR, os.path.join(os.path.dirname(_PACKAGE_DIR), "experiments"))


class _OwnInfoOnly(std_logging.Filter):
  """Passes WARNING and above from anyone, lower levels only from the project's own files."""

  def filter(self, record: std_logging.LogRecord) -> bool:
    if record.levelno >= std_logging.WARNING:
      return True
    path = os.path.abspath(record.pathname)
    return any(path.startswith(own + os.sep) for own in _OWN_DIRS)


def keep_library_logs_to_warnings() -> None:
  """Installs the filter on absl's handler (idempotent)."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, _OwnInfoOnly) for f in handler.filters):
    handler.addFilter(_OwnInfoOnly())
