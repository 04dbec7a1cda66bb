"""Compatibility names for the results-folder helpers (:mod:`simsme.results.folder` owns them)."""

from __future__ import annotations

from pathlib import Path

from simsme.results.chunks import ChunkStore, concat_parquet
from simsme.results.folder import (
    CHUNKS_DIR,
    PROGRESS_FILE,
    check_usable,
    claim_file,
    read_json,
    write_atomic,
    write_csv_atomic,
    write_json_atomic,
    write_parquet_atomic,
    write_text_atomic,
)


def prepare_folder(folder: str | Path, option: str = "--out") -> Path:
    """Create a folder for output files and check it can be written (see
    :func:`simsme.results.folder.check_usable`)."""
    return check_usable(folder, option)


def check_output_file(path: str | Path, option: str, companions: tuple[str, ...] = ()) -> Path:
    """Check, before any work, that simsme may write the file ``path`` and its ``companions``
    (suffixes of files written next to it): each is new, or simsme wrote it (see
    :func:`simsme.results.folder.claim_file`)."""
    return claim_file(path, option, companions)


__all__ = [
    "CHUNKS_DIR",
    "PROGRESS_FILE",
    "ChunkStore",
    "check_output_file",
    "concat_parquet",
    "prepare_folder",
    "read_json",
    "write_atomic",
    "write_csv_atomic",
    "write_json_atomic",
    "write_parquet_atomic",
    "write_text_atomic",
]
