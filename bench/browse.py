"""Size and time to first render of `ov_eval browse` on a 10k-sample run, in headless Chromium.

Builds a task of N chart images (a parquet file and a task YAML in a temporary include path), a run folder of N
logged samples for it (as `--log_samples` writes them), runs the real `ov_eval browse` on it, then opens the page
in headless Chromium and reads back the time at which the first page of samples was in the DOM.

    python bench/browse.py [--samples 10000] [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TASK = "bench_browse"
KEY = "exact_match,none"


def write_task(folder: Path, n: int) -> None:
    import datasets

    from ov_eval.demo.make_data import bar_chart

    rng = np.random.default_rng(0)
    images = []
    for i in range(n):
        buffer = io.BytesIO()
        bar_chart(rng.integers(1, 10, 4).tolist()).save(buffer, format="PNG")
        images.append({"bytes": buffer.getvalue(), "path": None})
    rows = {"question": [f"Which bar is highest in chart {i}?" for i in range(n)],
            "answer": ["A"] * n, "image": images}
    features = datasets.Features({"question": datasets.Value("string"), "answer": datasets.Value("string"),
                                  "image": datasets.Image()})
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(folder / "charts.parquet"))
    (folder / f"{TASK}.yaml").write_text(
        f"task: {TASK}\ndataset:\n  path: {folder / 'charts.parquet'}\n  split: train\n"
        "visual:\n  kind: image\n  fields: [image]\ntarget:\n  field: answer\nmetrics:\n  - metric: exact_match\n")


def write_run(folder: Path, tasks_folder: Path, n: int) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True)
    date = "20260101_000000"
    with open(folder / f"{date}_samples_{TASK}.jsonl", "w", encoding="utf-8") as out:
        for i in range(n):
            right = bool(rng.integers(0, 2))
            text = "A" if right else "The highest bar is the third one, so the answer is C."
            out.write(json.dumps({"doc_id": i, "doc": {"question": f"q{i}", "answer": "A"}, "target": "A",
                                  "arguments": {"text": f"Which bar is highest in chart {i}?", "generation": {}},
                                  "resps": [[text]], "filtered_resps": [text], "error": None,
                                  "unresolved": False, KEY: float(right)}) + "\n")
    results = {"results": {TASK: {"alias": TASK, KEY: 0.5, "n_samples": n, "n_errors": 0, "n_unresolved": 0}},
               "configs": {TASK: {"task": TASK}}, "scoring_profile": "published",
               "config": {"include_path": [str(tasks_folder)], "scoring_profile": "published"}}
    (folder / f"{date}_results.json").write_text(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tasks").mkdir()
        write_task(root / "tasks", args.samples)
        write_run(root / "run", root / "tasks", args.samples)
        page = root / "report.html"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ov_eval", "browse", str(root / "run"), "--output", str(page)],
                       cwd=REPO, check=True)
        built = time.perf_counter() - start
        html = page.read_text(encoding="utf-8")
        print(f"samples: {args.samples}; page: {page.stat().st_size / 1e6:.1f} MB, "
              f"{html.count('data:image/jpeg')} thumbnails; built in {built:.1f} s")
        if not args.chromium:
            print("no chromium found: time to first render not measured")
            return
        start = time.perf_counter()
        dom = subprocess.run([args.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-extensions", "--disable-background-networking",
                              f"--user-data-dir={root / 'profile'}", "--window-size=1280,900", "--dump-dom",
                              page.as_uri()], capture_output=True, text=True, check=True, timeout=600).stdout
        wall = time.perf_counter() - start
        first = re.search(r'data-first-render-ms="([0-9.]+)"', dom)
        cards = dom.count('<tr class="line"')  # the default list view: one line per sample
        print(f"first page of {cards} samples in the DOM {float(first.group(1)):.0f} ms after navigation start "
              f"(performance.now()); chromium --dump-dom wall time {wall:.1f} s")


if __name__ == "__main__":
    main()
