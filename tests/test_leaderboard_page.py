"""The leaderboard's HTML page as a reader sees it: short run labels with a legend, no word or number split
across lines at 1280 px with eight runs, one chart per metric kind with interval whiskers and published marks."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from page_probe import PHONE_WIDTH, needs_chromium, probe_page
from test_leaderboard import task, write_run
from ov_eval.reporting.html_report import render_html
from ov_eval.reporting.leaderboard import build_leaderboard, leaderboard_main, load_run
from ov_eval.reporting.reference import load_reference

REFERENCE = "llava-onevision-qwen2-0.5b-ov"
CHECKPOINT = "/scratch/checkpoints/onevision-qwen2-0.5b-finetune-seed{}_20250101"


def _with_uncertainty(path: Path, engine: str | None = None) -> Path:
    """Each float metric gets a stderr and a 95 % interval of ±2 % (±0.02 below 10), as results files carry."""
    data = json.loads(path.read_text())
    for entry in data["results"].values():
        for key in [k for k in entry if "," in k and "_stderr," not in k and isinstance(entry[k], float)]:
            metric, _, filter_name = key.partition(",")
            width = 0.02 * entry[key] if entry[key] > 10 else 0.02
            entry[f"{metric}_stderr,{filter_name}"] = round(width / 1.96, 6)
            entry[f"{metric}_ci95,{filter_name}"] = [entry[key] - width, entry[key] + width]
    if engine:
        data["model"]["engine"] = engine
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def eight_runs(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("eight")
    paths = []
    for i in range(8):
        tasks = {
            "ai2d": task({"exact_match,flexible-extract": 0.55 + 0.01 * i}, (3088, 3088),
                         "exact_match,flexible-extract"),
            "mme": task({"mme_percetion_score,none": 1200.0 + 10 * i, "mme_cognition_score,none": 230.0 + i},
                        (2374, 2374), "mme_percetion_score,none"),
            "videochatgpt": task({"gpt_eval_score,none": 3.25 + 0.05 * i}, (500, 500), "gpt_eval_score,none"),
            "demo_colours": task({"exact_match,none": 0.5 + 0.05 * i}, (8, 8), "exact_match,none"),
        }
        if i != 3:  # run D has no chartqa: its cell stays empty and no bar is drawn
            tasks["chartqa"] = task({"relaxed_overall,none": 0.6 + 0.01 * i}, (2500, 2500), "relaxed_overall,none")
        if i == 5:
            tasks["muirbench"] = task({"muirbench_score_overall,flexible-extract": 0.25}, (100, 2600),
                                      "muirbench_score_overall,flexible-extract")
        path = write_run(root / f"run{i}", f"2025010{i + 1}_120000", CHECKPOINT.format(i), tasks,
                         profile="published" if i % 2 == 0 else "corrected")
        paths.append(_with_uncertainty(path, engine="vllm" if i == 7 else None))
    return paths


@pytest.fixture(scope="module")
def eight_run_html(eight_runs) -> str:
    return render_html(build_leaderboard([load_run(p) for p in eight_runs], load_reference(), REFERENCE))


def _rows(table_html: str) -> list[list[str]]:
    """The text of each body row's cells (a cell's lines joined by spaces, the colour swatch left out)."""
    return [[" ".join(re.sub(r"<[^>]+>", " ", cell).replace("■", "").split())
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table_html, re.S) if "<td" in row]


def _charts(html: str) -> dict[str, str]:
    return dict(re.findall(r'<svg class="chart" data-kind="([^"]+)"(.*?)</svg>', html, re.S))


def test_columns_are_short_labels_and_the_legend_names_each_run(eight_run_html):
    header = re.search(r"<h2>Scores</h2>.*?<thead><tr>(.*?)</tr>", eight_run_html, re.S).group(1)
    assert re.findall(r"<th>([^<]*)</th>", header) == ["task", "metric", "published", *"ABCDEFGH", "note"]
    rows = _rows(eight_run_html.split('class="data legend"', 1)[1].split("</table>", 1)[0])
    assert len(rows) == 8
    assert rows[0] == ["A", CHECKPOINT.format(0), "published", "20250101_120000", "transformers"]
    assert rows[7] == ["H", CHECKPOINT.format(7), "corrected", "20250108_120000", "vllm"]


def test_run_cells_hold_value_stderr_and_delta_and_missing_values_stay_empty(eight_run_html):
    chartqa = re.search(r"<tr><td>chartqa</td>(.*?)</tr>", eight_run_html).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", chartqa)
    assert cells[:2] == ["relaxed_overall,none", "61.40"]  # metric, published
    assert cells[2] == '60.00<span class="sub">± 1.02</span><span class="sub neg">Δ -1.40</span>'
    assert cells[4] == '62.00<span class="sub">± 1.02</span><span class="sub pos">Δ +0.60</span>'
    assert cells[5] == ""  # run D has no chartqa
    assert cells[-1] == ""


def test_one_chart_per_metric_kind_on_one_scale_with_whiskers_and_marks(eight_run_html):
    charts = _charts(eight_run_html)
    assert list(charts) == ["percent", "MME points", "score 0-5", "fraction 0-1"]
    axes = {kind: float(re.search(r'data-axis-max="([^"]+)"', body).group(1)) for kind, body in charts.items()}
    assert axes == {"percent": 100.0, "MME points": 2000.0, "score 0-5": 5.0, "fraction 0-1": 1.0}
    for kind, body in charts.items():
        bars = [(float(v), float(w)) for v, w in re.findall(r'class="bar"[^>]*data-value="([^"]+)"[^>]*'
                                                           r'width="([^"]+)"', body)]
        assert len({round(width / value, 3) for value, width in bars}) == 1, kind  # one scale in a chart
        assert body.count('class="whisker"') == len(bars)
    percent = charts["percent"]
    assert len(re.findall(r'class="bar"', percent)) == 8 + 7 + 1  # ai2d, chartqa without D, muirbench of F
    assert re.findall(r'class="mark" data-value="([^"]+)"', percent) == ["57.1", "61.4", "25.5"]
    assert 'data-series="F" data-value="25"' in percent
    assert "<text" in percent and "-</text>" not in percent  # no "-" drawn for missing values


def test_labels_flag_names_the_html_columns(eight_runs, tmp_path):
    out = tmp_path / "board.html"
    names = ",".join(f"seed{i}" for i in range(8))
    assert leaderboard_main([*map(str, eight_runs), "--labels", names, "--output", str(out)]) == 0
    header = re.search(r"<h2>Scores</h2>.*?<thead><tr>(.*?)</tr>", out.read_text(), re.S).group(1)
    assert re.findall(r"<th>([^<]*)</th>", header)[3:-1] == [f"seed{i}" for i in range(8)]


@needs_chromium
@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_no_word_or_number_is_split_and_no_cell_is_squeezed(eight_run_html, tmp_path, width):
    dom, found = probe_page(eight_run_html, tmp_path, width)
    assert found["broken"] == [] and found["squeezed"] == []
    if width == 1280:  # eight runs fit the screen; a phone scrolls the tables sideways, not the page
        assert found["scrollWidth"] <= 1280
    assert found["scrollWidth"] <= width
    assert dom.count('<svg class="chart"') == 4 and dom.count('class="whisker"') == 8 * 5 + 7 + 1


@needs_chromium
def test_the_probe_sees_a_word_split_and_a_squeezed_cell(tmp_path):
    """The old page's failure, rebuilt: a narrow column that wraps anywhere, and one that cannot wrap."""
    html = ('<html><body><table style="width:120px"><tr><td style="overflow-wrap:anywhere">'
            "exact_match,flexible-extract</td><td style='max-width:20px;overflow:hidden'>1250.50</td></tr>"
            "</table></body></html>")
    _, found = probe_page(html, tmp_path)
    assert found["broken"] == ["exact_match,flexible-extract"]
    assert found["squeezed"] == ["1250.50"]


def _served_and_in_process(root: Path) -> list[Path]:
    """The same checkpoint run in process and behind `transformers serve`, with the runner's default run names."""
    from ov_eval.reporting.results import model_folder_name

    paths = []
    for model, args in (("llava_onevision", {"pretrained": "/ckpt/tiny"}), ("openai_compatible",
                                                                           {"model": "/ckpt/tiny"})):
        folder = root / model_folder_name(model, args)
        path = write_run(folder, "20250101_120000", "/ckpt/tiny", {
            "ai2d": task({"exact_match,flexible-extract": 0.5}, (10, 3088), "exact_match,flexible-extract")})
        data = json.loads(path.read_text())
        data["config"].update(model=model, model_args=args, run_name=f"{folder.name}_20250101_120000")
        if model == "openai_compatible":
            data["model"] = {"model": "openai_compatible", "base_url": "http://127.0.0.1:8000/v1"}
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


def test_a_served_run_and_an_in_process_run_of_one_checkpoint_get_their_own_folders(tmp_path):
    from ov_eval.reporting.results import model_folder_name

    assert model_folder_name("llava_onevision", {"pretrained": "/ckpt/tiny"}) == "ckpt__tiny"
    assert model_folder_name("openai_compatible", {"model": "/ckpt/tiny"}) == "ckpt__tiny__served"
    assert [p.parent.name for p in _served_and_in_process(tmp_path)] == ["ckpt__tiny", "ckpt__tiny__served"]


@pytest.mark.parametrize("fmt", ["md", "csv", "html"])
def test_a_served_run_is_marked_served_in_every_format(tmp_path, capsys, fmt):
    paths = _served_and_in_process(tmp_path)
    assert leaderboard_main([*map(str, paths), "--format", fmt]) == 0
    out = capsys.readouterr().out
    served = "ckpt__tiny__served_20250101_120000 (served) [published]"
    if fmt == "md":
        assert out.splitlines()[0] == (f"| group | task | metric | {REFERENCE} (published) "
                                       f"| ckpt__tiny_20250101_120000 [published] | {served} "
                                       f"| Δ ckpt__tiny_20250101_120000 [published] vs ref | Δ {served} vs ref "
                                       "| note |")
    elif fmt == "csv":
        assert out.splitlines()[0].split(",")[4:6] == ["ckpt__tiny_20250101_120000 [published]", served]
    else:
        legend = out.split('class="data legend"', 1)[1].split("</table>", 1)[0]
        assert _rows(legend) == [
            ["A", "ckpt__tiny_20250101_120000 model: /ckpt/tiny", "published", "20250101_120000", "transformers"],
            ["B", "ckpt__tiny__served_20250101_120000 model: /ckpt/tiny (served)", "published", "20250101_120000",
             "server at http://127.0.0.1:8000/v1"]]


@pytest.mark.parametrize("model, config_args, engine", [
    ({"model": "llava_onevision", "engine": "vllm"}, {}, "vllm"),
    ({"model": "llava_onevision", "model_args": {"engine": "vllm", "pretrained": "x"}}, {}, "vllm"),
    ({"model": "llava_onevision"}, {"engine": "transformers"}, "transformers"),
    ({"model": "llava_onevision"}, {}, "transformers"),  # before engines existed, and the reference harness
])
def test_the_engine_comes_from_the_model_description(tmp_path, model, config_args, engine):
    path = write_run(tmp_path, "20250101_120000", "x", {"ai2d": task({"exact_match,none": 0.5}, (1, 1), None)})
    data = json.loads(path.read_text())
    data["model"] = model
    data["config"]["model_args"].update(config_args)
    path.write_text(json.dumps(data))
    assert load_run(path).engine == engine
