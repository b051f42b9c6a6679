"""Append-only per-rank journal of responses: a killed run resumes where it stopped.

Each line is one Response keyed by its request key, which already encodes the model, the task config, the
document, the prompt, the media and the generation settings; a key that does not match is simply not reused.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ov_eval.types import Response


class Journal:
    def __init__(self, folder: Path, rank: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / f"rank{rank}.jsonl"
        self._file = None

    def load(self) -> dict[str, Response]:
        """Every complete record of every rank's journal (a run may resume with another process count)."""
        records: dict[str, Response] = {}
        for path in sorted(self.folder.glob("rank*.jsonl")):
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    try:
                        response = Response.from_dict(json.loads(line))
                    except (ValueError, TypeError):
                        continue  # the line a SIGKILL cut short
                    if response.error is None:
                        records[response.key] = response
        return records

    def append(self, response: Response) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
            if self.path.stat().st_size and not self._ends_with_newline():
                self._file.write("\n")  # never glue a new record onto a cut-short one
        self._file.write(json.dumps(response.to_dict(), ensure_ascii=False) + "\n")
        self._file.flush()

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
