"""Results and samples files appear only complete, the results file first: never samples without results."""
import json
import os

import pytest

from ov_eval.reporting import results as results_module
from ov_eval.scoring.score import TaskScores


def scores():
    return {task: TaskScores({"acc,none": 1.0}, [{"doc_id": 0, "resps": [["x"]]}], 1, 0, 0) for task in ("a", "b")}


def test_results_file_is_in_place_before_any_samples_file(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(src, dst):
        seen.append((os.path.basename(dst), sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))))
        real_replace(src, dst)

    monkeypatch.setattr(results_module.os, "replace", replace)
    path = results_module.write_outputs(tmp_path, "D", {"results": {}}, scores(), log_samples=True)
    assert path == tmp_path / "D_results.json"
    assert seen == [("D_results.json", []), ("D_samples_a.jsonl", ["D_results.json"]),
                    ("D_samples_b.jsonl", ["D_results.json", "D_samples_a.jsonl"])]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["D_results.json", "D_samples_a.jsonl", "D_samples_b.jsonl"]
    assert json.loads((tmp_path / "D_samples_b.jsonl").read_text()) == {"doc_id": 0, "resps": [["x"]]}


def test_a_failure_while_writing_leaves_no_file_and_no_temporary(tmp_path, monkeypatch):
    real_write = results_module._write_temporary

    def write(path, text):
        if "samples_b" in path.name:
            raise OSError(28, "No space left on device")
        return real_write(path, text)

    monkeypatch.setattr(results_module, "_write_temporary", write)
    with pytest.raises(OSError):
        results_module.write_outputs(tmp_path, "D", {"results": {}}, scores(), log_samples=True)
    assert list(tmp_path.iterdir()) == []
