"""A results folder: what simsme owns in it, who writes it, and how every file gets written.

This module is the one home of the rules for results folders (written up in docs/results.md):

* **Atomic writes.** Every file simsme writes goes through :func:`write_atomic`: it is written to
  a temporary file in the same folder (named ``.simsme-tmp.<name>.<random>.tmp``) and moved into
  place with :func:`os.replace`, so a reader sees the old file or the complete new one, never half
  a file.
* **A marker, written first.** A results folder holds ``.simsme.json`` before anything else; it
  records the folder's kind (``run`` or ``sweep``) and every name simsme wrote there (``owned``).
  A folder that holds anything else (a user's files, or results without the marker) is *foreign*:
  it is never written into, and nothing in it is removed (exit 2, naming the files).
* **Only what simsme wrote is removed.** Replacing results (``--force-new``) removes the names the
  marker lists, and inside ``smes/``, ``.chunks/`` and ``figures/`` only files of the shapes simsme
  writes there (``point=<i>/part-<j>.parquet``, chunk tables, figures carrying simsme's metadata).
* **One writer per folder.** A writer holds ``.simsme.lock`` (:mod:`filelock`) from start to end
  and describes itself in ``.simsme.lock.json`` (pid, host, start time, command); a second writer
  is told who holds the folder and stops before doing any work.
* **Damaged state is one message.** A marker, manifest or progress file that is not a JSON object
  is :class:`DamagedFolder` (exit 1), pointing to ``--force-new``.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import json
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from simsme.errors import SimsmeError

Kind = Literal["run", "sweep", "calibration", "files"]

MARKER = ".simsme.json"
LOCK = ".simsme.lock"
LOCK_INFO = ".simsme.lock.json"
TMP_PREFIX = ".simsme-tmp."
MANIFEST = "manifest.json"
CHUNKS_DIR = ".chunks"
PROGRESS_FILE = "progress.json"
FIGURES_DIR = "figures"

OWNED_DIRS: dict[str, tuple[str, ...]] = {
    CHUNKS_DIR: (PROGRESS_FILE, "*-*.parquet"),
    "smes": ("point=*/part-*.parquet",),
}
"""Sub-folders simsme fills, and the shapes of the files it writes in them (relative paths)."""

FOLDER_FILES = (MARKER, LOCK, LOCK_INFO)
"""simsme's own bookkeeping files in a folder (never foreign, never results)."""


class DamagedFolder(SimsmeError):
    """A results folder whose state files cannot be read: exit 1, pointing to ``--force-new``."""

    exit_code = 1


class FolderBusy(SimsmeError):
    """Another process is writing the folder (it holds the lock)."""

    exit_code = 1


# --------------------------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------------------------
def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file of :func:`write_atomic` (left by a crash)."""
    return name.startswith(TMP_PREFIX) and name.endswith(".tmp")


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temporary file next to it, which is then
    synced and moved into place. ``path`` is the old file or the complete new one, never a part.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; results are ordinary files
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8)."""
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json_atomic(data: Any, path: str | Path) -> Path:
    """Write JSON atomically (pretty-printed, keys in insertion order)."""
    return write_text_atomic(json.dumps(data, indent=2, default=_json_default) + "\n", path)


def write_parquet_atomic(table: Any, path: str | Path) -> Path:
    """Write a table (pandas or pyarrow) as parquet atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    return write_atomic(path, lambda tmp: pq.write_table(table, tmp))


def write_csv_atomic(frame: Any, path: str | Path) -> Path:
    """Write a pandas table as CSV (no index) atomically."""
    return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False))


def copy_atomic(source: str | Path, path: str | Path) -> Path:
    """Copy a file atomically."""
    import shutil

    return write_atomic(path, lambda tmp: shutil.copyfile(source, tmp))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# --------------------------------------------------------------------------------------------
# Reading state files
# --------------------------------------------------------------------------------------------
def damaged(path: Path, what: str) -> DamagedFolder:
    return DamagedFolder(
        f"{path}: damaged ({what}); run the command that wrote it (run or sweep) again with "
        "--force-new to start the folder again, or choose another --out"
    )


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a damaged one is :class:`DamagedFolder`."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise damaged(path, str(err).splitlines()[0] if str(err) else type(err).__name__) from None
    except IsADirectoryError:
        raise damaged(path, "a folder, expected a file") from None


def read_state(path: str | Path) -> dict[str, Any] | None:
    """A state file (marker, manifest, progress) as a dict, ``None`` when it does not exist.
    Anything but a JSON object is :class:`DamagedFolder`."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    data = read_json(path)
    if not isinstance(data, dict):
        raise damaged(path, f"expected a JSON object, found a JSON {_json_type(data)}")
    return data


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


# --------------------------------------------------------------------------------------------
# Figures identify themselves
# --------------------------------------------------------------------------------------------
FIGURE_SIGNATURES = (
    b"tEXtSoftware\x00simsme",
    b"<dc:title>simsme</dc:title>",
    b"/Creator (simsme)",
)
"""The metadata :func:`simsme.plots.style.save_figure` writes into png, svg and pdf files."""


def is_simsme_figure(path: Path) -> bool:
    """Whether ``path`` is a figure simsme wrote (its metadata names simsme)."""
    if path.suffix.lower() not in (".png", ".svg", ".pdf") or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - 8192))
            tail = fh.read()
    except OSError:
        return False
    return any(sig in head or sig in tail for sig in FIGURE_SIGNATURES)


# --------------------------------------------------------------------------------------------
# The folder
# --------------------------------------------------------------------------------------------
def check_usable(folder: str | Path, option: str = "--out") -> Path:
    """Create ``folder`` (and its parents) and check that files can be written in it.

    Raises :class:`SimsmeError` naming ``option`` when it cannot be used (it is a file, a parent
    is read-only, ...), before any work is done.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f"{TMP_PREFIX}write-test.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        reason = err.strerror or str(err)
        raise SimsmeError(
            f"{option}: cannot use '{folder}' as a folder ({reason}); "
            "expected a folder that can be created and written"
        ) from None
    return folder


def _entries(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir())
    except FileNotFoundError:
        return []


def foreign_entries(folder: Path, owned: Iterable[str]) -> list[str]:
    """Names in ``folder`` that simsme did not write (``owned`` lists what it did)."""
    mine = {name.rstrip("/") for name in owned}
    return [
        name
        for name in _entries(folder)
        if name not in mine
        and name not in FOLDER_FILES
        and not is_temporary(name)
        and not _only_figures(folder / name)
    ]


def _only_figures(path: Path) -> bool:
    """A figure simsme drew (``simsme plot --out`` into the folder), or a ``figures/`` folder
    holding nothing else (``simsme plot`` writes its figures there by default)."""
    if path.is_symlink():
        return False
    if path.is_file():
        return is_simsme_figure(path)
    if path.name != FIGURES_DIR or not path.is_dir():
        return False
    files = [p for p in path.rglob("*") if not p.is_dir()]
    return all(is_temporary(p.name) or is_simsme_figure(p) for p in files)


def _describe(names: list[str], folder: Path, limit: int = 6) -> str:
    shown = [f"{n}/" if (folder / n).is_dir() else n for n in names[:limit]]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(shown) + more


def _remove_owned_dir(path: Path, patterns: tuple[str, ...] | None) -> None:
    """Remove the files simsme writes inside ``path`` (by ``patterns``, or figures carrying
    simsme's metadata when ``None``) and its temporary files, then the folders left empty."""
    if not path.is_dir() or path.is_symlink():
        return
    for file in sorted(path.rglob("*"), reverse=True):
        if file.is_symlink() or not file.is_file():
            continue
        rel = file.relative_to(path).as_posix()
        ours = is_temporary(file.name) or (
            is_simsme_figure(file)
            if patterns is None
            else any(fnmatch.fnmatchcase(rel, p) for p in patterns)
        )
        if ours:
            file.unlink(missing_ok=True)
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), reverse=True):
        _rmdir_if_empty(sub)
    _rmdir_if_empty(path)


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass


class ResultsFolder:
    """A results folder opened for writing: its marker, its lock, and what it owns.

    Use :meth:`open` (a context manager) to get one; it checks the folder, takes the lock and
    writes the marker, in that order, before the caller writes anything.
    """

    def __init__(self, path: Path, kind: Kind, marker: dict[str, Any], lock: Any) -> None:
        self.path = path
        self.kind = kind
        self.marker = marker
        self._lock = lock

    # -- opening ---------------------------------------------------------------------------
    @classmethod
    @contextmanager
    def open(cls, folder: str | Path, kind: Kind, option: str = "--out") -> Iterator[ResultsFolder]:
        """Open ``folder`` to write results of ``kind``; the lock is held until the block ends.

        Raises :class:`SimsmeError` (exit 2) when the folder cannot be used or holds files
        simsme did not write, :class:`FolderBusy` (exit 1) when another process writes it, and
        :class:`DamagedFolder` (exit 1) when its marker is damaged.
        """
        folder = Path(folder)
        if folder.exists():
            if not folder.is_dir():
                check_usable(folder, option)  # raises, naming the option
            cls._check_ours(folder, option)  # before creating anything in a user's folder
        check_usable(folder, option)
        lock = acquire_lock(folder)
        try:
            marker = cls._check_ours(folder, option)  # again, now that nobody else writes
            if marker is None:
                marker = {"simsme": "results folder", "kind": kind, "owned": []}
                write_json_atomic(marker, folder / MARKER)
            yield cls(folder, kind, marker, lock)
        finally:
            release_lock(folder, lock)

    @staticmethod
    def _check_ours(folder: Path, option: str) -> dict[str, Any] | None:
        """The folder's marker (``None`` for an empty folder); refuses a foreign folder."""
        marker = read_marker(folder)
        if marker is not None and marker.get("kind") == "files":
            # single outputs (reports, figures) of other commands: the user's now, not results
            owned, marker = [], None
        else:
            owned = marker["owned"] if marker else []
        foreign = foreign_entries(folder, owned)
        if foreign:
            unmarked = marker is None and MANIFEST in foreign
            raise SimsmeError(
                f"{option}: '{folder}' holds files simsme did not write "
                f"({_describe(foreign, folder)}); simsme writes only into an empty folder or "
                "one it made"
                + (
                    " (results written before simsme marked its folders with "
                    f"{MARKER} are not recognised)"
                    if unmarked
                    else ""
                )
                + ", and never removes or overwrites other files (not even with --force-new): "
                "choose another --out, or move those files away"
            )
        return marker

    # -- what the folder holds ---------------------------------------------------------------
    @property
    def owned(self) -> list[str]:
        return list(self.marker["owned"])

    def claim(self, *names: str) -> None:
        """Record names as simsme's (in the marker) before they are written."""
        new = [n for n in names if n not in self.marker["owned"]]
        if new:
            self.marker["owned"] = sorted({*self.marker["owned"], *new})
            write_json_atomic(self.marker, self.path / MARKER)

    def set_kind(self, kind: Kind) -> None:
        if self.marker.get("kind") != kind:
            self.marker["kind"] = kind
            write_json_atomic(self.marker, self.path / MARKER)

    def manifest(self) -> dict[str, Any] | None:
        """``manifest.json`` (``None`` when the folder holds no finished results)."""
        return read_state(self.path / MANIFEST)

    def clear(self, keep: tuple[str, ...] = ()) -> None:
        """Remove every result simsme recorded in this folder (the manifest first, so the folder
        never looks finished while it holds a mix), except the sub-folders in ``keep`` (e.g.
        ``.chunks`` of a run being resumed); nothing else is touched."""
        owned = self.owned
        order = sorted(owned, key=lambda n: n != MANIFEST)
        for name in order:
            if name.rstrip("/") in keep:
                continue
            path = self.path / name.rstrip("/")
            if name.endswith("/") or path.is_dir():
                base = name.rstrip("/")
                _remove_owned_dir(path, OWNED_DIRS.get(base) if base != FIGURES_DIR else None)
                if path.exists():
                    continue  # still holds files simsme did not write: keep it (and its claim)
            elif path.is_file() or path.is_symlink():
                path.unlink(missing_ok=True)
            owned.remove(name)
        for name in _entries(self.path):
            entry = self.path / name
            if is_temporary(name) or (entry.is_file() and _only_figures(entry)):
                entry.unlink(missing_ok=True)
            elif name == FIGURES_DIR and _only_figures(entry):
                _remove_owned_dir(entry, None)
        self.marker["owned"] = sorted(owned)
        write_json_atomic(self.marker, self.path / MARKER)

    def remove_dir(self, name: str) -> None:
        """Remove what simsme wrote in the owned sub-folder ``name`` (e.g. ``.chunks``)."""
        _remove_owned_dir(self.path / name, OWNED_DIRS.get(name))
        if not (self.path / name).exists() and f"{name}/" in self.marker["owned"]:
            self.marker["owned"].remove(f"{name}/")
            write_json_atomic(self.marker, self.path / MARKER)

    # -- writing -------------------------------------------------------------------------------
    def write_json(self, name: str, data: Any) -> Path:
        self.claim(name)
        return write_json_atomic(data, self.path / name)

    def write_parquet(self, name: str, table: Any) -> Path:
        self.claim(name.split("/", 1)[0] + ("/" if "/" in name else ""))
        return write_parquet_atomic(table, self.path / name)


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The folder's marker, checked; ``None`` when it has none."""
    path = folder / MARKER
    marker = read_state(path)
    if marker is None:
        return None
    owned = marker.get("owned")
    if (
        marker.get("simsme") != "results folder"
        or not isinstance(owned, list)
        or not all(isinstance(n, str) and n and "/" not in n.rstrip("/") for n in owned)
    ):
        raise DamagedFolder(
            f"{path}: damaged (expected simsme's record of the files it wrote); simsme cannot "
            "tell its files from others, so it removes nothing: move the folder away or "
            "choose another --out"
        )
    return marker


def is_results_folder(folder: str | Path) -> bool:
    """Whether ``folder`` carries simsme's marker."""
    return (Path(folder) / MARKER).is_file()


# --------------------------------------------------------------------------------------------
# One writer per folder
# --------------------------------------------------------------------------------------------
def _holder(folder: Path) -> str:
    try:
        info = json.loads((folder / LOCK_INFO).read_text(encoding="utf-8"))
        assert isinstance(info, dict)
    except (OSError, ValueError, AssertionError):
        return "another process (no details recorded)"
    me = " (this process)" if info.get("pid") == os.getpid() else ""
    return (
        f"process {info.get('pid', '?')}{me} on {info.get('host', '?')}, started "
        f"{info.get('started', '?')}: {info.get('command') or '?'}"
    )


def acquire_lock(folder: Path) -> Any:
    """Take the folder's lock without waiting; :class:`FolderBusy` names the holder."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(folder / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(
            f"{folder}: another simsme is writing this folder ({_holder(folder)}); "
            "wait for it to finish (then run the command again: finished results are reused), "
            "or choose another --out"
        ) from None
    write_json_atomic(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": command_line(),
        },
        folder / LOCK_INFO,
    )
    return lock


def command_line() -> str | None:
    """The command this process runs, as typed (``simsme run ...``; no install path)."""
    if not sys.argv:
        return None
    program = Path(sys.argv[0]).name
    if program in ("__main__.py", "-m"):
        program = "simsme"
    return " ".join([program, *sys.argv[1:]])


def release_lock(folder: Path, lock: Any) -> None:
    (folder / LOCK_INFO).unlink(missing_ok=True)
    lock.release()


def check_not_being_written(folder: str | Path) -> None:
    """Refuse to read a folder while another process writes it (its lock is held)."""
    folder = Path(folder)
    if not (folder / LOCK).exists():
        return
    from filelock import FileLock, Timeout

    lock = FileLock(str(folder / LOCK), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise FolderBusy(
            f"{folder}: being written by {_holder(folder)}; its results are not finished: "
            "try again when it is done"
        ) from None
    except OSError:
        return  # a read-only folder: nobody writes it
    lock.release()


# --------------------------------------------------------------------------------------------
# Single output files (figures, reports, JSON) outside results folders
# --------------------------------------------------------------------------------------------
def claim_file(path: str | Path, option: str, companions: tuple[str, ...] = ()) -> Path:
    """Check that simsme may write ``path`` (and the files next to it with the suffixes in
    ``companions``, e.g. ``(".json",)``), and record them as simsme's.

    New files are recorded in the folder's marker (a ``files`` marker when the folder is not a
    results folder); an existing one is overwritten only if simsme wrote it (recorded there, or
    a figure carrying simsme's metadata). Otherwise :class:`SimsmeError` (exit 2) names it;
    nothing is recorded unless every file may be written.
    """
    path = Path(path)
    paths = [path, *(path.with_suffix(suffix) for suffix in companions)]
    for each in paths:
        if each.is_dir():
            raise SimsmeError(f"{option}: '{each}' is a folder; expected a file name")
    folder = check_usable(path.parent, option)
    marker = read_marker(folder)
    owned = set(marker["owned"]) if marker is not None else set()
    record = []
    for each in paths:
        if is_simsme_figure(each):
            continue
        if (each.exists() or each.is_symlink()) and each.name not in owned:
            raise SimsmeError(
                f"{option}: '{each}' exists and was not written by simsme; simsme never "
                "overwrites other files: choose another name, or move it away"
            )
        if each.exists() and not os.access(each, os.W_OK):
            raise SimsmeError(f"{option}: cannot write '{each}' (permission denied)")
        if each.suffix.lower() not in (".png", ".svg", ".pdf") and each.name not in owned:
            record.append(each.name)  # figures identify themselves: no record needed
    if record:
        marker = marker or {"simsme": "results folder", "kind": "files", "owned": []}
        marker["owned"] = sorted({*marker["owned"], *record})
        write_json_atomic(marker, folder / MARKER)
    return path
