"""Resumable, chunked tables in a results folder (``<folder>/.chunks/``).

Long runs commit their work in *chunks* (one parquet file per table per chunk); a chunk is listed
as done in ``progress.json`` only after all of its files are in place, so an interrupted run
(Ctrl-C, ``kill -9``, power cut) restarted with the same command redoes at most the chunk that was
in flight, and never duplicates or loses rows. The final tables are assembled from the chunks in
chunk order; ``manifest.json`` is written last and marks a finished folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from simsme.errors import SimsmeError
from simsme.results.fingerprint import key_differences
from simsme.results.folder import (
    CHUNKS_DIR,
    PROGRESS_FILE,
    DamagedFolder,
    ResultsFolder,
    damaged,
    read_state,
    write_atomic,
    write_json_atomic,
    write_parquet_atomic,
)


def _read_parquet(path: Path, folder: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # missing, truncated or not parquet: pyarrow's own errors
        raise _damaged_chunk(path, folder, err) from None


def _damaged_chunk(path: Path, folder: Path, err: BaseException) -> DamagedFolder:
    what = "missing" if isinstance(err, FileNotFoundError) else f"damaged: {err}"
    return DamagedFolder(
        f"{folder}: the committed chunk {path.name} is {what}; pass --force-new to discard the "
        "unfinished results and start again"
    )


def concat_parquet(parts: Iterable[Path], path: str | Path, folder: Path | None = None) -> int:
    """Stream several parquet files (same schema) into one, atomically; returns the row count."""
    import pyarrow.parquet as pq

    parts = list(parts)
    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        writer: pq.ParquetWriter | None = None
        try:
            for part in parts:
                try:
                    table = pq.read_table(part)
                except Exception as err:
                    raise _damaged_chunk(part, folder or part.parent, err) from None
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
                rows += table.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise SimsmeError(f"{path}: nothing to write (no chunks)")

    write_atomic(path, write)
    return rows


class ChunkStore:
    """Chunks of tables committed one by one under ``<folder>/.chunks``, resumable by a key.

    ``key`` (a structured key, :mod:`simsme.results.fingerprint`) identifies the inputs and the
    code. Opening a store whose folder holds chunks made with a different key raises, saying
    why, unless ``force_new`` is set, in which case the old chunks are discarded.
    """

    def __init__(
        self,
        folder: ResultsFolder,
        key: dict[str, Any],
        force_new: bool = False,
        what: str = "unfinished results",
    ) -> None:
        self.results = folder
        self.folder = folder.path
        self.dir = self.folder / CHUNKS_DIR
        self.key = key
        progress = None if force_new else read_state(self.dir / PROGRESS_FILE)
        if progress is not None:
            done = progress.get("done")
            if not isinstance(done, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("tables"), list) for v in done.values()
            ):
                raise damaged(self.dir / PROGRESS_FILE, "expected the chunks done, by id")
            if progress.get("key") != key:
                reasons = "; ".join(key_differences(progress.get("key"), key))
                raise SimsmeError(
                    f"{self.folder}: holds {what} that this command cannot resume: "
                    f"{reasons}; pass --force-new to discard them and start again, or choose "
                    "another --out"
                )
            self.done: dict[str, dict[str, Any]] = done
            self._verify()
        else:
            folder.remove_dir(CHUNKS_DIR)
            self.done = {}
        folder.claim(f"{CHUNKS_DIR}/")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save()

    def _verify(self) -> None:
        """Every committed chunk's files are there and readable (their parquet footers)."""
        import pyarrow.parquet as pq

        for chunk_id in self.chunk_ids():
            for name in self.done[chunk_id]["tables"]:
                path = self._path(name, chunk_id)
                try:
                    pq.read_metadata(path)
                except Exception as err:
                    raise _damaged_chunk(path, self.folder, err) from None

    def _path(self, name: str, chunk_id: str) -> Path:
        return self.dir / f"{name}-{chunk_id}.parquet"

    def _save(self) -> None:
        write_json_atomic({"key": self.key, "done": self.done}, self.dir / PROGRESS_FILE)

    def is_done(self, chunk_id: str) -> bool:
        return chunk_id in self.done

    def commit(
        self, chunk_id: str, tables: dict[str, pd.DataFrame], info: dict[str, Any] | None = None
    ) -> None:
        """Write every table of one chunk, then record the chunk as done (in that order)."""
        for name, table in tables.items():
            write_parquet_atomic(table, self._path(name, chunk_id))
        self.done[chunk_id] = {"tables": sorted(tables), **(info or {})}
        self._save()

    def forget(self, chunk_id: str) -> None:
        """Mark a chunk as not done (its files are overwritten when it is run again)."""
        self.done.pop(chunk_id, None)
        self._save()

    def chunk_ids(self) -> list[str]:
        """Committed chunk ids, in sorted order (chunk ids are zero-padded so this is run order)."""
        return sorted(self.done)

    def parts(self, name: str) -> Iterator[Path]:
        for chunk_id in self.chunk_ids():
            if name in self.done[chunk_id]["tables"]:
                yield self._path(name, chunk_id)

    def read(self, name: str) -> pd.DataFrame:
        frames = [_read_parquet(p, self.folder) for p in self.parts(name)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def frames(self, name: str) -> list[pd.DataFrame]:
        return [_read_parquet(p, self.folder) for p in self.parts(name)]

    def assemble(self, name: str) -> int:
        """Join a table's chunks, in chunk order, into ``<folder>/<name>.parquet``."""
        self.results.claim(f"{name}.parquet")
        return concat_parquet(list(self.parts(name)), self.folder / f"{name}.parquet", self.folder)

    def discard(self) -> None:
        self.results.remove_dir(CHUNKS_DIR)
