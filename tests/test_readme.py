"""The README's drop-in example runs as written."""

import pathlib
import re


def test_readme_teacher_example_runs(capsys):
  readme = (pathlib.Path(__file__).parents[1] / "README.md").read_text()
  section = readme.split("## Drop the teacher into your own loop", 1)[1]
  code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
  exec(compile(code, "README.md", "exec"), {})  # pylint: disable=exec-used
  assert "epoch 5: trained on" in capsys.readouterr().out
