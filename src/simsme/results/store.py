"""The results store: atomic writes and resumable, chunked tables.

A results folder is only ever seen complete or not at all:

* every file is written to a temporary name in the same folder and moved into place with
  :func:`os.replace` (atomic on POSIX and Windows), so a reader never sees half a file;
* long runs commit their work in *chunks* (one parquet file per table per chunk) under
  ``<folder>/.chunks/``; a chunk is listed as done only after all of its files are in place, so an
  interrupted run (Ctrl-C, ``kill -9``, power cut) restarted with the same inputs redoes at most
  the chunk that was in flight, and never duplicates or loses rows;
* the final tables are assembled from the chunks in chunk order, and ``manifest.json`` is written
  last: its presence with ``"status": "complete"`` marks a finished folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simsme.errors import SimsmeError

CHUNKS_DIR = ".chunks"
PROGRESS_FILE = "progress.json"


RESULT_FILES = (
    "manifest.json",  # first: without it the folder no longer looks complete
    "summary.json",
    "replications.parquet",
    "channel_mix.parquet",
    "smes.parquet",
    "points.parquet",
    "summary.parquet",
    "design.parquet",
    "sensitivity.parquet",
    "sensitivity.csv",
)
"""Every file a run or a sweep writes at the top of its results folder."""


def clear_results(folder: str | Path) -> None:
    """Remove the results of an earlier run or sweep (either kind) before new ones are written,
    so that a replaced folder never holds tables of two runs."""
    folder = Path(folder)
    for name in RESULT_FILES:
        (folder / name).unlink(missing_ok=True)
    shutil.rmtree(folder / "smes", ignore_errors=True)
    for stale in folder.glob(".*.tmp"):  # temporary files of an interrupted atomic write
        stale.unlink(missing_ok=True)


def prepare_folder(folder: str | Path, option: str = "--out") -> Path:
    """Create a results folder (and its parents) and check that files can be written in it.

    Raises :class:`SimsmeError` naming the folder when it cannot be used (it is a file, a parent
    is read-only, ...), before any work is done.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise SimsmeError(
            f"{option}: cannot use '{folder}' as a folder ({reason}); "
            "expected a folder that can be created and written"
        ) from None
    return folder


def check_output_file(path: str | Path, option: str) -> Path:
    """Check, before any work, that a file can be written at ``path`` (its folder is created).

    Raises :class:`SimsmeError` naming the option when it is a folder or cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise SimsmeError(f"{option}: '{path}' is a folder; expected a file name")
    prepare_folder(path.parent, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise SimsmeError(f"{option}: cannot write '{path}' (permission denied)")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def _temporary_path(path: Path) -> Path:
    """A fresh file next to ``path`` (same file system, so the final rename is atomic)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; results are ordinary files
    return Path(tmp)


def _fsync_replace(tmp: Path, path: Path) -> None:
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_parquet_atomic(table: pd.DataFrame | pa.Table, path: str | Path) -> None:
    """Write a table as parquet so that ``path`` is either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_path(path)
    try:
        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        pq.write_table(table, tmp)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(text: str, path: str | Path) -> None:
    """Write a text file so that ``path`` is either the old file or the complete new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_path(path)
    try:
        tmp.write_text(text)
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(data: Any, path: str | Path) -> None:
    """Write JSON atomically (pretty-printed, keys in insertion order)."""
    write_text_atomic(json.dumps(data, indent=2, default=_json_default) + "\n", path)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_json(path: str | Path) -> Any:
    """Read a JSON state file (manifest, progress); a damaged one is a clear error."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise SimsmeError(
            f"{path}: damaged ({err}); pass --force-new to start the folder again, or choose "
            "another --out"
        ) from None


def concat_parquet(parts: Iterable[Path], path: str | Path) -> int:
    """Stream several parquet files (same schema) into one, atomically; returns the row count."""
    path = Path(path)
    parts = list(parts)
    tmp = _temporary_path(path)
    rows = 0
    try:
        writer: pq.ParquetWriter | None = None
        for part in parts:
            table = pq.read_table(part)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
        if writer is None:
            raise SimsmeError(f"{path}: nothing to write (no chunks)")
        writer.close()
        _fsync_replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return rows


class ChunkStore:
    """Chunks of tables committed one by one under ``<folder>/.chunks``, resumable by a key.

    ``key`` identifies the inputs (for example the hash of the resolved scenario and the engine).
    Opening a store whose folder holds chunks made with a different key raises, unless
    ``force_new`` is set, in which case the old chunks are discarded.
    """

    def __init__(self, folder: str | Path, key: str, force_new: bool = False) -> None:
        self.folder = Path(folder)
        self.dir = self.folder / CHUNKS_DIR
        self.key = key
        progress = self.dir / PROGRESS_FILE
        if progress.exists() and not force_new:
            saved = read_json(progress)
            if saved.get("key") != key:
                raise SimsmeError(
                    f"{self.folder}: holds an unfinished run with different inputs "
                    f"(key {saved.get('key', '?')[:12]}, this run {key[:12]}); "
                    "use --force-new to discard it, or --out to write elsewhere"
                )
            self.done: dict[str, dict[str, Any]] = saved.get("done", {})
        else:
            if self.dir.exists():
                shutil.rmtree(self.dir)
            self.done = {}
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save()

    def _save(self) -> None:
        write_json_atomic({"key": self.key, "done": self.done}, self.dir / PROGRESS_FILE)

    def is_done(self, chunk_id: str) -> bool:
        return chunk_id in self.done

    def commit(
        self, chunk_id: str, tables: dict[str, pd.DataFrame], info: dict[str, Any] | None = None
    ) -> None:
        """Write every table of one chunk, then record the chunk as done (in that order)."""
        for name, table in tables.items():
            write_parquet_atomic(table, self.dir / f"{name}-{chunk_id}.parquet")
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
                yield self.dir / f"{name}-{chunk_id}.parquet"

    def read(self, name: str) -> pd.DataFrame:
        frames = [pd.read_parquet(p) for p in self.parts(name)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def assemble(self, name: str, path: str | Path | None = None) -> int:
        """Join a table's chunks, in chunk order, into ``<folder>/<name>.parquet``."""
        try:
            return concat_parquet(list(self.parts(name)), path or self.folder / f"{name}.parquet")
        except pa.ArrowException as err:
            raise SimsmeError(
                f"{self.dir}: a committed chunk of '{name}' is damaged ({err}); pass --force-new "
                "to start again"
            ) from None

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
