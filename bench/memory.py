"""Peak resident memory while a block runs, sampled in a thread: of this process, or of its whole process tree."""
from __future__ import annotations

import os
import resource
import threading


class PeakRss:
    """Peak resident memory of this process, sampled every 5 ms from /proc (ru_maxrss where there is none)."""

    interval_s = 0.005

    def __enter__(self) -> "PeakRss":
        self.peak, self._stop = self._rss(), threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self._rss())

    def _rss(self) -> int:
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class TreePeakRss(PeakRss):
    """Peak resident memory of this process and all its descendants (an engine's workers), every 20 ms."""

    interval_s = 0.02

    def _rss(self) -> int:
        import psutil

        me, total = psutil.Process(), 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total
