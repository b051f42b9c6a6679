"""A full disk is reported as such: the file being written is named, and the caller says what is kept."""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


class DiskFull(Exception):
    """No space (or quota) left while writing `path`; the run turns it into one line with what is journaled."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no space left on device writing {path}")
        self.path = path


@contextmanager
def writing(path: str | os.PathLike[str]) -> Iterator[None]:
    """Turns ENOSPC / EDQUOT raised inside the block into DiskFull naming `path`; other errors pass unchanged."""
    try:
        yield
    except OSError as exc:
        if exc.errno in NO_SPACE:
            raise DiskFull(Path(path)) from None
        raise
