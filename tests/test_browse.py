"""`ov_eval browse`: the page built from constructed run folders of the demo_colours task (thumbnails from its
bundled dataset), rendered in headless Chromium; filter counts are read back from the rendered DOM."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import run_ov_eval
from fixtures.logged_runs import KEY, write_run
from page_probe import PHONE_WIDTH, probe_page
from ov_eval.reporting.browse_page import render_page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no headless browser: install the Debian package "
                                                             "`chromium` to render the browse page in this test")
HOSTILE = '<script>document.title="pwned";document.body.dataset.pwned="1"</script></div><b>bold</b>'
# A: docs 0-2 and 6 right, 3-5 wrong, 7 failed; B: doc 0 turns wrong, docs 3 and 4 turn right.
A_VALUES = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
B_VALUES = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0]


def browser(tmp_path: Path) -> list[str]:
    return [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile'}"]


def dump_dom(tmp_path: Path, page: Path, fragment: str = "") -> str:
    return subprocess.run([*browser(tmp_path), "--window-size=1280,900", "--dump-dom", page.as_uri() + fragment],
                          capture_output=True, text=True, timeout=120, check=True).stdout


def visible_count(dom: str) -> int:
    return int(re.search(r'<span id="count">(\d+)</span>', dom).group(1))


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browse")
    a = write_run(root / "a", "20260101_000000", A_VALUES, errors=(7,), responses={2: HOSTILE})
    b = write_run(root / "b", "20260102_000000", B_VALUES)
    out = root / "report.html"
    done = run_ov_eval(["browse", str(a), "--against", str(b), "--output", str(out)])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"8 samples of 1 task(s) written to {out} (")
    return out


def test_page_is_self_contained_with_a_thumbnail_per_sample(page):
    html = page.read_text()
    assert "http://" not in html and "https://" not in html and "<link" not in html
    assert html.count("data:image/jpeg;base64,") == 8  # each doc's image from tasks/demo/data/colours.parquet
    assert "<script>document.title" not in html  # the response is in the JSON block, its "<" escaped


@needs_chromium
@pytest.mark.parametrize("fragment, count", [
    ("", 8), ("#status=right", 4), ("#status=wrong", 3), ("#status=error", 1), ("#status=unresolved", 0),
    ("#flip=right_to_wrong", 1), ("#flip=wrong_to_right", 2), ("#q=PWNED", 1), ("#status=wrong&q=blue", 3),
    ("#task=demo_colours&status=right&flip=right_to_wrong", 1),
])
def test_filters_change_the_visible_count(page, tmp_path, fragment, count):
    dom = dump_dom(tmp_path, page, fragment)
    assert visible_count(dom) == count
    assert dom.count('<tr class="line"') == count  # the list view, one line per sample
    cards = dump_dom(tmp_path, page, (fragment or "#") + "&view=cards")
    assert cards.count('class="card sample"') == count


@needs_chromium
def test_flipped_samples_show_both_runs_side_by_side(page, tmp_path):
    dom = dump_dom(tmp_path, page, "#flip=wrong_to_right&view=cards")
    cards = dom.split('class="card sample"')[1:]
    assert [re.search(r"<h3>([^<]*)</h3>", c).group(1) for c in cards] == [
        "demo_colours · doc 3 · wrong to right", "demo_colours · doc 4 · wrong to right"]
    for card in cards:
        assert "<h4>A</h4>" in card and "<h4>B</h4>" in card
        assert '<span class="status-wrong">wrong</span>' in card.split("<h4>B</h4>")[0]
        assert '<span class="status-right">right</span>' in card.split("<h4>B</h4>")[1]


@needs_chromium
def test_injected_script_in_a_response_does_not_run_and_shows_as_text(page, tmp_path):
    dom = dump_dom(tmp_path, page, "#q=pwned")
    assert "<title>ov_eval browse: " in dom and "pwned</title>" not in dom
    assert "data-pwned" not in dom and "<b>bold</b>" not in dom
    assert ("&lt;script&gt;document.title=\"pwned\";document.body.dataset.pwned=\"1\"&lt;/script&gt;&lt;/div&gt;"
            "&lt;b&gt;bold&lt;/b&gt;") in dom


@needs_chromium
def test_screenshot_of_the_page(page, tmp_path):
    shot = tmp_path / "browse.png"
    subprocess.run([*browser(tmp_path), f"--screenshot={shot}", "--window-size=1280,1000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_media_shows_no_media_instead_of_failing(tmp_path):
    run = write_run(tmp_path / "a", "20260101_000000", [1.0, 0.0], task="demo_colours")
    (run.parent / run.name).write_text(run.read_text().replace('"demo_colours"', '"not_a_task"'))
    (run.parent / "20260101_000000_samples_demo_colours.jsonl").rename(
        run.parent / "20260101_000000_samples_not_a_task.jsonl")
    out = tmp_path / "r.html"
    done = run_ov_eval(["browse", str(run), "--output", str(out)])
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "data:image/jpeg" not in html
    assert html.count("no media: task 'not_a_task' is not in the task registry") == 2


def test_unknown_task_is_a_one_line_error(tmp_path):
    run = write_run(tmp_path / "a", "20260101_000000", [1.0])
    done = run_ov_eval(["browse", str(run), "--tasks", "demo_colour", "--output", str(tmp_path / "r.html")])
    assert (done.returncode, done.stderr) == (
        2, f"ov_eval: error: --tasks: task 'demo_colour' is not in {run} (did you mean 'demo_colours'?)\n")


def test_render_page_escapes_the_closing_script_tag():
    html = render_page([{"task": "t", "doc_id": 0, "response": "</script><script>alert(1)</script>"}], "run", None)
    data = html.split('id="samples">', 1)[1].split("</script>", 1)[0]
    assert "\\u003c/script>\\u003cscript>alert(1)\\u003c/script>" in data


def test_thumbnails_stop_at_the_size_budget(tmp_path):
    run = write_run(tmp_path / "a", "20260101_000000", A_VALUES)
    out = tmp_path / "r.html"
    done = run_ov_eval(["browse", str(run), "--output", str(out), "--media_budget_mb", "0.000001"])
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert html.count("data:image/jpeg") == 1  # the first thumbnail spends the budget
    assert html.count("no media: the page's media size budget is spent (--media_budget_mb)") == 7


ANLS = "anls,none"


def _add_anls(results: Path, values: list[float]) -> Path:
    """A second, graded metric beside exact_match (ANLS-like: 0.875 is a good answer, not a right one)."""
    import json

    samples = results.parent / results.name.replace("_results.json", "_samples_demo_colours.jsonl")
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    for record in records:
        if not record["error"]:
            record[ANLS] = values[record["doc_id"]]
    samples.write_text("".join(json.dumps(r) + "\n" for r in records))
    data = json.loads(results.read_text())
    data["results"]["demo_colours"][ANLS] = 0.5
    data["configs"]["demo_colours"]["headline_metric"] = KEY
    results.write_text(json.dumps(data))
    return results


def _reprompt(results: Path, docs: list[int]) -> Path:
    import json

    samples = results.parent / results.name.replace("_results.json", "_samples_demo_colours.jsonl")
    records = [json.loads(line) for line in samples.read_text().splitlines()]
    for record in records:
        if record["doc_id"] in docs:
            record["arguments"]["text"] += "\nAnswer with one word."
    samples.write_text("".join(json.dumps(r) + "\n" for r in records))
    return results


def browse(argv: list[str]) -> None:
    from ov_eval.reporting.browse import browse_main

    assert browse_main(argv) == 0


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("graded")
    a = _add_anls(write_run(root / "a", "20260101_000000", A_VALUES, errors=(7,)), [0.875] * 4 + [0.25] * 4)
    b = _reprompt(write_run(root / "b", "20260102_000000", B_VALUES), docs=[0, 1, 2])
    pages = {"default": root / "default.html", "anls": root / "anls.html", "against": root / "against.html"}
    browse([str(a), "--output", str(pages["default"]), "--media_budget_mb", "0"])
    browse([str(a), "--status_metric", "anls", "--output", str(pages["anls"]), "--media_budget_mb", "0"])
    browse([str(a), "--against", str(b), "--output", str(pages["against"]), "--media_budget_mb", "0"])
    return pages


@needs_chromium
@pytest.mark.parametrize("name, fragment, right, rule", [
    ("default", "", 4, "right: each task's headline metric at least 1"),
    ("anls", "", 0, f"right: {ANLS} at least 1"),
    ("anls", "#right_at=0.5", 4, f"right: {ANLS} at least 0.5"),
    ("default", f"#metric={ANLS}&right_at=0.2", 7, f"right: {ANLS} at least 0.2"),
])
def test_the_status_follows_the_metric_picked_and_says_which(graded, tmp_path, name, fragment, right, rule):
    dom = dump_dom(tmp_path, graded[name], fragment)
    lines = re.findall(r'<tr class="line"[^>]*>(.*?)</tr>', dom)
    statuses = [re.findall(r"<td[^>]*>([^<]*)</td>", line)[2] for line in lines]
    assert len(lines) == 8 and statuses.count("right") == right and statuses[7] == "error"
    assert re.search(r'<div id="rule">([^<]*)</div>', dom).group(1).startswith(rule + "; ")


def test_an_unknown_status_metric_is_a_one_line_error(tmp_path):
    run = write_run(tmp_path / "a", "20260101_000000", [1.0])
    done = run_ov_eval(["browse", str(run), "--status_metric", "exact_mtch", "--output", str(tmp_path / "r.html")])
    assert (done.returncode, done.stderr) == (
        2, "ov_eval: error: --status_metric: 'exact_mtch' is not a metric of the browsed samples (did you mean "
           "'exact_match,none'?); they have: exact_match,none\n")
    assert not (tmp_path / "r.html").exists()


@needs_chromium
def test_runs_asked_different_prompts_are_warned_about_and_show_both_prompts(graded, tmp_path):
    html = graded["against"].read_text()
    assert ('<p class="warning">A and B were asked different prompts on 3 of 8 shared samples (demo_colours): their '
            "answers are not to the same question; each card shows both prompts</p>") in html
    dom = dump_dom(tmp_path, graded["against"], "#view=cards")
    cards = dom.split('class="card sample"')[1:]
    assert "<b>prompt (A)</b>" in cards[0] and "<b>prompt (B)</b>" in cards[0]
    assert "Answer with one word." in cards[0].split("<b>prompt (B)</b>")[1]
    assert "<b>prompt (A)</b>" not in cards[3] and "<b>prompt</b>" in cards[3]


@needs_chromium
@pytest.mark.parametrize("width", [1280, PHONE_WIDTH])
def test_the_list_view_fits_the_screen(graded, tmp_path, width):
    _, found = probe_page(graded["against"].read_text(), tmp_path, width)
    assert found["scrollWidth"] <= width
