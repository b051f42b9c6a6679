"""Append-only per-rank journal of responses: a killed run resumes where it stopped.

Each line is one Response keyed by its request key, which already encodes the model, the task config, the
document, the prompt, the media and the generation settings; a key that does not match is not reused. Each line
also carries those parts one by one (its `facets`), so that a run can say why a journaled answer of the same
document was not reused, and `ov_eval journal` can list and prune what the journal holds.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from ov_eval.disk import writing
from ov_eval.errors import OvEvalError
from ov_eval.types import Request, Response

log = logging.getLogger(__name__)

# What a journal key is made of, most specific first: the reason a journaled answer is not reused names them.
FACET_NAMES = {"model": "the model (checkpoint, or model arguments that change answers)",
               "generation": "the generation settings", "prompt": "the task's prompt",
               "media": "the task's images or videos", "pad_images": "the sample's sticky-pad encoding",
               "task_config": "the task's configuration (YAML or hooks)"}
UNRECORDED = "they were made by an earlier ov_eval, which did not record what they were made with"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def request_identity(model_identity: str, task_hash: str, doc_id: int, text: str, media_digests: list[str],
                     generation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A request's journal key, and its parts (facets) as the journal records them beside each answer."""
    material = json.dumps([model_identity, task_hash, doc_id, text, media_digests, generation])
    facets = {"model": model_identity, "task_config": task_hash, "prompt": digest(text),
              "media": digest(json.dumps(media_digests)), "generation": generation, "pad_images": False}
    return hashlib.sha256(material.encode()).hexdigest()[:24], facets


def mismatch_reason(wanted: dict[str, Any], journaled: list[dict[str, Any] | None]) -> str:
    """Why no answer journaled for a document fits a request with `wanted` facets, in words. A changed task YAML
    also changes the task's configuration: that is named only when nothing more specific differs."""
    if not journaled or all(facets is None for facets in journaled):
        return UNRECORDED
    differences = []
    for facets in filter(None, journaled):
        changed = [name for name in FACET_NAMES if facets.get(name) != wanted.get(name)]
        differences.append([name for name in changed if name != "task_config"] or changed)
    changed = min(differences, key=len)
    if not changed:
        return "ov_eval's journal keys changed since they were made"
    names = [FACET_NAMES[name] for name in changed]
    return (" and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names) +
            " changed since they were made")


def reuse_summary(requests: list[Request], reused: int, reasons: Counter) -> str:
    """`0 of 20 answers reused: the task's prompt changed since they were made`, with a count per reason when
    several apply or some documents had no journaled answer at all."""
    missed = len(requests) - reused
    parts = [reason if len(reasons) == 1 and count == missed else f"{reason} ({count} answer{'s' * (count != 1)})"
             for reason, count in reasons.most_common()]
    return f"{reused} of {len(requests)} answers reused: " + "; ".join(parts)


def check_journal_folder(folder: Path) -> None:
    """The journal folder is a folder and holds nothing but readable files: a damaged one (a rank file that is a
    folder, a dangling symlink, a stray folder, the folder itself a file) is an error naming the path, before the
    model loads."""
    if folder.is_symlink() and not folder.exists():
        raise OvEvalError(f"{folder}: the journal folder is a dangling symlink (to {os.readlink(folder)}); remove "
                          "it and run again")
    if folder.exists() and not folder.is_dir():
        raise OvEvalError(f"{folder}: the journal folder is a file, not a folder; move it away and run again")
    if not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() and not entry.exists():
            raise OvEvalError(f"{entry}: a dangling symlink (to {os.readlink(entry)}) in the journal folder; "
                              "remove it and run again")
        if entry.is_dir():
            raise OvEvalError(f"{entry}: a folder in the journal folder, which holds only rank*.jsonl files; move "
                              "it away and run again")
        if not entry.is_file():
            raise OvEvalError(f"{entry}: not a regular file, in the journal folder; move it away and run again")


def journaled_responses(folder: Path) -> int:
    """How many answers the journal folder holds (0 when there is none yet or it cannot be read); logs nothing."""
    try:
        return len({record[0].key for record in map(parse_record, journal_lines(folder))
                    if record is not None and record[0].error is None})
    except OSError:
        return 0


class Journal:
    def __init__(self, folder: Path, rank: int) -> None:
        check_journal_folder(folder)
        with writing(folder):
            folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.path = folder / f"rank{rank}.jsonl"
        self._fd: int | None = None
        self._keys: set[str] | None = None  # every journaled key, once loaded
        self._facets: dict[tuple[str, int], list[dict[str, Any] | None]] = {}  # (task, doc) -> its records' facets

    def load(self) -> dict[str, Response]:
        """Every complete record of every rank's journal (a run may resume with another process count).

        A line that is not a record of the right types (cut short by a kill, bytes that are not UTF-8 from a torn
        write or a bad block, a field of the wrong type) is skipped, never reused; each load logs how many lines it
        skipped."""
        records: dict[str, Response] = {}
        self._facets = {}
        skipped = 0
        for line in journal_lines(self.folder):
            record = parse_record(line)
            if record is None:
                skipped += 1
                continue
            response, facets = record
            if response.error is None:
                records[response.key] = response
                self._facets.setdefault((response.task, response.doc_id), []).append(facets)
        log.log(logging.WARNING if skipped else logging.INFO, "journal %s: %d responses loaded, %d unreadable "
                "line(s) skipped", self.folder, len(records), skipped)
        self._keys = set(records)
        return records

    def unreused(self, todo: Iterable[Request]) -> Counter:
        """Of requests without a journaled answer, those whose document has journaled answers made otherwise:
        how many per reason (see mismatch_reason). Call after load()."""
        reasons: Counter = Counter()
        for request in todo:
            journaled = self._facets.get((request.task, request.doc_id))
            if journaled:
                reasons[mismatch_reason(request.facets, journaled)] += 1
        return reasons

    @property
    def records(self) -> int:
        """How many responses the journal holds now (this run's and earlier runs')."""
        if self._keys is None:
            self.load()
        return len(self._keys)

    def append(self, response: Response, facets: dict[str, Any] | None = None) -> None:
        """One record, written by a single write call on an O_APPEND descriptor (nothing is left buffered to fail
        again later); a full disk raises DiskFull naming the journal file, and a torn record is skipped on load."""
        record = response.to_dict() | ({"facets": facets} if facets else {})
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        with writing(self.path):
            if self._fd is None:
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                if os.fstat(self._fd).st_size and not self._ends_with_newline():
                    line = b"\n" + line  # never glue a new record onto a cut-short one
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
        if self._keys is not None:
            self._keys.add(response.key)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def journal_lines(folder: Path) -> Iterable[bytes]:
    """Every line of every rank's journal in `folder`, as bytes."""
    for path in sorted(folder.glob("rank*.jsonl")):
        with path.open("rb") as handle:
            yield from handle


RECORD_TYPES: dict[str, tuple[type, ...]] = {"key": (str,), "task": (str,), "doc_id": (int,), "text": (str,),
                                             "input_tokens": (int,), "output_tokens": (int,), "image_tokens": (int,),
                                             "error": (str, type(None)), "latency_s": (float, int, type(None)),
                                             "reasoning": (str, type(None))}
REQUIRED_FIELDS = {"key", "task", "doc_id", "text"}  # the others have defaults (older journals may lack them)


def parse_record(line: bytes) -> tuple[Response, dict[str, Any] | None] | None:
    """A journal line's response and facets (None for a line written before facets were recorded); None for a
    line that is not a record of the right types (cut short by a kill, bytes that are not UTF-8, `text: null`, a
    string `doc_id`): such a line is never reused as an answer."""
    try:
        data = json.loads(line.decode("utf-8"))
        facets = data.pop("facets", None) if isinstance(data, dict) else None
    except (ValueError, TypeError, AttributeError):
        return None
    if not isinstance(data, dict) or not REQUIRED_FIELDS <= set(data) or not set(data) <= set(RECORD_TYPES):
        return None
    if any(not isinstance(value, RECORD_TYPES[name]) or isinstance(value, bool) for name, value in data.items()):
        return None
    return Response.from_dict(data), facets if isinstance(facets, dict) else None
