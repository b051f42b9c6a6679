"""Append-only per-rank journal of responses: a killed run resumes where it stopped.

Each line is one Response keyed by its request key, which already encodes the model, the task config, the
document, the prompt, the media and the generation settings; a key that does not match is simply not reused.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from ov_eval.types import Response

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, folder: Path, rank: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / f"rank{rank}.jsonl"
        self._file = None
        self._keys: set[str] | None = None  # every journaled key, once loaded

    def load(self) -> dict[str, Response]:
        """Every complete record of every rank's journal (a run may resume with another process count).

        A line that is not a record (cut short by a kill, bytes that are not UTF-8 from a torn write or a bad
        block) is skipped; each load logs how many lines it skipped."""
        records: dict[str, Response] = {}
        skipped = 0
        for path in sorted(self.folder.glob("rank*.jsonl")):
            with path.open("rb") as handle:
                for line in handle:
                    try:
                        response = Response.from_dict(json.loads(line.decode("utf-8")))
                    except (ValueError, TypeError):
                        skipped += 1
                        continue
                    if response.error is None:
                        records[response.key] = response
        log.log(logging.WARNING if skipped else logging.INFO, "journal %s: %d responses loaded, %d unreadable "
                "line(s) skipped", self.folder, len(records), skipped)
        self._keys = set(records)
        return records

    @property
    def records(self) -> int:
        """How many responses the journal holds now (this run's and earlier runs')."""
        if self._keys is None:
            self.load()
        return len(self._keys)

    def append(self, response: Response) -> None:
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
            if self.path.stat().st_size and not self._ends_with_newline():
                self._file.write("\n")  # never glue a new record onto a cut-short one
        self._file.write(json.dumps(response.to_dict(), ensure_ascii=False) + "\n")
        self._file.flush()
        if self._keys is not None:
            self._keys.add(response.key)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
