"""Adapters for tests, loaded with `--model ovtest_adapters:Name` (tests/ is put on PYTHONPATH)."""
import os
import time

from ov_eval.models.onevision import OneVisionAdapter


class CountingAdapter(OneVisionAdapter):
    """The real adapter, plus a log line per generated sample and an optional delay (to be killed mid-run)."""

    def generate(self, batch):
        time.sleep(float(os.environ.get("OV_TEST_DELAY", "0")))
        generations = super().generate(batch)
        with open(os.environ["OV_TEST_CALL_LOG"], "a") as log:
            for generation in generations:
                log.write(f"{generation.input_tokens}\n")
        return generations


class FailingOnRankOne(OneVisionAdapter):
    def generate(self, batch):
        if os.environ.get("RANK") == "1":
            raise RuntimeError("injected failure on rank 1")
        time.sleep(0.5)
        return super().generate(batch)


class StallingOnRankOne(OneVisionAdapter):
    """Rank 1 stops making progress (a hung decode, a stuck device) without failing."""

    def generate(self, batch):
        if os.environ.get("RANK") == "1":
            time.sleep(3600)
        return super().generate(batch)
