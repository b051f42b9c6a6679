"""bench/sweep_estimate.py: the sweep's token counts come from the adapter's own counts and the published row
counts, and the model sizes are the three Qwen2 configurations."""
import sys

from conftest import REPO


def test_sweep_estimate_counts_the_28_benchmarks_with_the_adapters_token_counts(monkeypatch, capsys):
    monkeypatch.syspath_prepend(str(REPO / "bench"))
    import sweep_estimate

    sweep_estimate.main([])
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines if line.startswith(("ai2d ", "videomme ", "muirbench "))}
    assert rows["ai2d"][-5:-2] == ["3088", "4725", "92"]  # 800x600 anyres: 729 + 3996
    assert rows["videomme"][-5:-2] == ["2700", "6273", "142"]  # 32 frames x 196 + 1 newline
    assert rows["muirbench"][-5:-2] == ["2600", "2916", "102"]  # 4 padded images x 729, no newline
    assert ("28 benchmarks, 32 tasks, 149380 samples: 0.72G visual + 17.2M text prompt tokens, 1.30M generated"
            in lines)
    models = {line.split()[0]: line.split() for line in lines if line.startswith(("0.5B ", "7B ", "72B "))}
    assert models["7B"] == ["7B", "11920", "8.4", "2.3", "3.91", "8", "1.33", "h", "64", "0.17", "h"]
    assert models["72B"] == ["72B", "110050", "77.3", "22.7", "0.41", "2", "50.01", "h", "16", "6.25", "h"]
    sys.modules.pop("sweep_estimate")
