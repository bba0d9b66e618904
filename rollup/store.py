"""The node's database: one SQLite file holding py-evm's key-value data (state trie, headers, bodies, receipts,
the transaction lookup) next to our own tables (a log index, the transaction pool, settings).

Why SQLite rather than LevelDB: a block is written in one SQL transaction, so a crash (SIGKILL, power cut) leaves
either the whole block (state nodes, header, canonical head, receipts, log rows, pool removals) or none of it, with
no write-ahead bookkeeping of our own; the log index is a table that `eth_getLogs` filters with an index instead
of a scan; and it is in Python's standard library, so nothing native has to build on a participant's machine.

    store = Store.open(datadir)          # or Store.memory()
    with store.transaction():            # every write inside lands together, or not at all
        ...
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB

FILENAME = "chain.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (
    block INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_index INTEGER NOT NULL,
    address BLOB NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB,
    PRIMARY KEY (block, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_address ON logs (address, block);
CREATE INDEX IF NOT EXISTS logs_topic0 ON logs (topic0, block);
CREATE TABLE IF NOT EXISTS pool (hash BLOB PRIMARY KEY, raw BLOB NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
"""


class StoreError(RuntimeError):
    """A database this node cannot use: locked by another node, from another chain, or unreadable."""


class KV(BaseDB):
    """py-evm's key-value interface over the kv table; writes join whatever SQL transaction is open."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __getitem__(self, key: bytes) -> bytes:
        row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return row[0]

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, value))

    def __delitem__(self, key: bytes) -> None:
        if self._conn.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount == 0:
            raise KeyError(key)

    def _exists(self, key: bytes) -> bool:
        return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None


class Store:
    """An open database; `db` is what py-evm's Chain takes."""

    def __init__(self, conn: sqlite3.Connection, path: Path | None) -> None:
        self.conn = conn
        self.path = path
        self.db = AtomicDB(KV(conn))
        self._depth = 0

    @classmethod
    def open(cls, datadir: str | Path, *, synchronous: str = "NORMAL") -> Store:
        """The database in `datadir` (created if missing). WAL with synchronous NORMAL survives a killed process
        with every committed block; FULL also survives a power cut, at an fsync per block."""
        directory = Path(datadir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / FILENAME
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.1)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            # An exclusive lock for the node's lifetime: a second node on the same datadir is refused, not
            # allowed to interleave blocks with the first.
            conn.execute("PRAGMA locking_mode=EXCLUSIVE")
            conn.execute("BEGIN IMMEDIATE")
            conn.executescript(SCHEMA)  # executescript commits the open transaction first
        except sqlite3.OperationalError as err:
            if "locked" in str(err):
                raise StoreError(f"{directory}: another node is using this datadir") from None
            raise StoreError(f"{directory}: {err}") from None
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{directory}: not a node database ({err})") from None
        except OSError as err:
            raise StoreError(f"{directory}: {err}") from None
        return cls(conn, path)

    @classmethod
    def memory(cls) -> Store:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        conn.executescript(SCHEMA)
        return cls(conn, None)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything written inside is committed together; an exception rolls all of it back. Nested uses join
        the outermost transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self.conn
        except BaseException:
            self._depth = 0
            self.conn.execute("ROLLBACK")
            raise
        self._depth = 0
        self.conn.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (key, str(value)))

    def size_bytes(self) -> int:
        """Bytes on disk (database and its write-ahead log); for an in-memory store, the pages in use."""
        if self.path is None:
            pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
            return pages * self.conn.execute("PRAGMA page_size").fetchone()[0]
        return sum(p.stat().st_size for p in self.path.parent.glob(FILENAME + "*"))

    def close(self) -> None:
        self.conn.close()
