"""The README's drop-in examples run as written."""

import pathlib
import re

import jax
import numpy as np

from attent_jax import selection


def _section_code() -> list[str]:
  readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
  section = readme.split("## Drop the teacher into your own loop", 1)[1].split("\n## ", 1)[0]
  return re.findall(r"```python\n(.*?)```", section, re.S)


def test_readme_teacher_example_runs(capsys):
  code = _section_code()[0]
  exec(compile(code, "README.md", "exec"), {})  # pylint: disable=exec-used
  assert "epoch 5: trained on" in capsys.readouterr().out


def test_readme_custom_teacher_is_short_and_runs(capsys):
  code = _section_code()[1]
  assert len(code.strip().splitlines()) <= 25
  namespace: dict = {}
  try:
    exec(compile(code, "README.md", "exec"), namespace)  # pylint: disable=exec-used
    assert capsys.readouterr().out.strip() == "[2048, 512, 512, 512, 512, 512]"
    teacher = namespace["teacher"]
    state, plan = teacher.next_epoch(teacher.init(0))  # epoch 0: full data, losses recorded
    losses = np.arange(2048, dtype=np.float32) % 97
    trained = plan.examples()[0]
    state = teacher.record(state, trained, losses[trained], kind="loss")
    state, plan = teacher.next_epoch(state)
    kept = plan.examples()[0]
    expected = np.argsort(-losses, kind="stable")[:512]
    assert sorted(kept.tolist()) == sorted(expected.tolist())
    assert bool(jax.device_get(plan.reselected))
  finally:
    selection.PRESETS.pop("hardest", None)
