"""The README's flag table lists every flag of the eval command line, and nothing else."""
import re

from conftest import REPO
from ov_eval.cli import _eval_parser


def test_readme_flag_table_lists_every_flag():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("| flag | meaning |", 1)[1].split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `(--[\w-]+)", table, re.MULTILINE))
    flags = {o for a in _eval_parser()._actions for o in a.option_strings if o.startswith("--") and o != "--help"}
    assert listed == flags, f"missing from the README: {sorted(flags - listed)}; not flags: {sorted(listed - flags)}"
