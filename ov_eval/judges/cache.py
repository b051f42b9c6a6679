"""Persistent verdict cache: raw judge replies in SQLite (WAL), shared safely by threads and processes.

The key is the sha256 of everything that decides the reply: judge model, prompt name and version, the
rendered messages, temperature and max_tokens. Only replies that parsed as verdicts are stored.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Mapping, Sequence

_SCHEMA = """CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    prompt_version TEXT NOT NULL,
    reply TEXT NOT NULL,
    created_at REAL NOT NULL
)"""


def cache_key(model: str, prompt_name: str, prompt_version: str, messages: Sequence[Mapping[str, str]],
              temperature: float, max_tokens: int) -> str:
    payload = {"model": model, "prompt": prompt_name, "prompt_version": prompt_version,
               "messages": [dict(m) for m in messages], "temperature": float(temperature),
               "max_tokens": int(max_tokens)}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def default_cache_path(env: Mapping[str, str] | None = None) -> Path:
    """$OV_EVAL_JUDGE_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/ov_eval/judge_verdicts.sqlite."""
    env = os.environ if env is None else env
    if env.get("OV_EVAL_JUDGE_CACHE"):
        return Path(env["OV_EVAL_JUDGE_CACHE"])
    root = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return root / "ov_eval" / "judge_verdicts.sqlite"


class VerdictCache:
    """One SQLite connection per thread; writers from several processes wait on each other (busy timeout)."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._connection()  # create the file and schema now, so a bad path fails before any judging

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def get(self, key: str) -> str | None:
        row = self._connection().execute("SELECT reply FROM verdicts WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, reply: str, *, model: str, prompt_version: str) -> None:
        self._connection().execute(
            "INSERT OR REPLACE INTO verdicts (key, model, prompt_version, reply, created_at) VALUES (?, ?, ?, ?, ?)",
            (key, model, prompt_version, reply, time.time()))

    def __len__(self) -> int:
        return self._connection().execute("SELECT COUNT(*) FROM verdicts").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    def __enter__(self) -> VerdictCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VerdictCache({str(self.path)!r})"
