"""The journal survives a record cut short by a kill, and the prefetch stage keeps its bound."""
import threading
import time

from ov_eval.journal import Journal
from ov_eval.pipeline import SampleFailure, prefetch
from ov_eval.types import Response


def test_cut_short_record_is_skipped_and_never_glued_to_the_next(tmp_path):
    journal = Journal(tmp_path, rank=0)
    journal.append(Response("k1", "t", 0, "one", 5, 1, 0))
    journal.close()
    with (tmp_path / "rank0.jsonl").open("a") as handle:
        handle.write('{"key": "k2", "task": "t", "doc_')  # SIGKILL mid-write
    resumed = Journal(tmp_path, rank=0)
    assert set(resumed.load()) == {"k1"}
    resumed.append(Response("k3", "t", 2, "three", 5, 1, 0))
    resumed.close()
    assert {k: r.text for k, r in Journal(tmp_path, rank=0).load().items()} == {"k1": "one", "k3": "three"}


def test_records_of_every_rank_are_loaded(tmp_path):
    for rank in (0, 1):
        journal = Journal(tmp_path, rank)
        journal.append(Response(f"k{rank}", "t", rank, str(rank)))
        journal.close()
    assert sorted(Journal(tmp_path, rank=0).load()) == ["k0", "k1"]


def test_prefetch_keeps_order_passes_sample_failures_and_holds_its_bound():
    started, lock = [], threading.Lock()

    def stage(i):
        with lock:
            started.append(i)
        if i == 3:
            raise SampleFailure("bad sample 3")
        return i * 10

    seen = []
    for item, result in prefetch(range(12), stage, workers=3, max_in_flight=4):
        time.sleep(0.01)  # a slow consumer
        with lock:
            assert len(started) <= item + 4  # never more than the bound ahead of the consumer
        seen.append((item, str(result) if isinstance(result, SampleFailure) else result))
    assert seen == [(i, "bad sample 3" if i == 3 else i * 10) for i in range(12)]


def test_prefetch_inline_mode():
    assert [r for _, r in prefetch([1, 2], lambda i: -i, workers=0, max_in_flight=1)] == [-1, -2]


def test_lines_that_are_not_utf8_are_skipped_and_counted(tmp_path, caplog):
    journal = Journal(tmp_path, rank=0)
    journal.append(Response("k1", "t", 0, "one", 5, 1, 0))
    journal.close()
    with (tmp_path / "rank0.jsonl").open("ab") as handle:
        handle.write(b'{"key": "k9", "text": "\xff\xfe torn"}\n\x00\x00\x00\n')  # a torn write, a zeroed block
    resumed = Journal(tmp_path, rank=0)
    with caplog.at_level("INFO", logger="ov_eval.journal"):
        assert set(resumed.load()) == {"k1"}
    assert caplog.messages == [f"journal {tmp_path}: 1 responses loaded, 2 unreadable line(s) skipped"]
    resumed.append(Response("k2", "t", 1, "two", 5, 1, 0))
    resumed.close()
    assert Journal(tmp_path, rank=0).records == 2


def test_every_response_field_has_a_journal_type():
    # A field added to Response without a type here would make every new record unreadable on resume.
    import dataclasses

    from ov_eval.journal import RECORD_TYPES
    from ov_eval.types import Response

    assert set(RECORD_TYPES) == {field.name for field in dataclasses.fields(Response)}
