"""Guard against stale numba caches.

``@njit(cache=True)`` keys a cached function on the source of its own file only. The kernel's
functions inline the rules of :mod:`simsme.rules`, the stage constants of
:mod:`simsme.scenario.lowering` and each other across files, so after an edit to one of those
files numba would happily load machine code built from the old source. On import of
:mod:`simsme.kernel` this module hashes all the kernel's source files; where a numba cache
directory holds compiled code from other sources (its stamp differs), it deletes that code and
writes the new stamp, so the next call compiles afresh.

The folder numba will write to (:func:`write_dirs`) is stamped even when it does not exist yet
(it is created): otherwise the cache numba builds there in this process would carry no stamp,
and the next process would delete it as stale and compile everything again.

Every failure (read-only install, a file removed by a concurrent process) is ignored: the guard
can only ever delete cache files, never break an import.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from simsme.results.folder import write_text_atomic

STAMP_NAME = "simsme-kernel-sources.stamp"

_PACKAGE = Path(__file__).resolve().parent.parent  # .../simsme


def kernel_sources() -> list[Path]:
    """The source files whose compiled code ends up in the kernel's cached functions."""
    files = sorted((_PACKAGE / "kernel").glob("*.py"))
    files += [_PACKAGE / "rules.py", _PACKAGE / "scenario" / "lowering.py"]
    # the kernel's row constants (CH_*, AG_*, ...) are generated from the parameter table
    files += [_PACKAGE / "scenario" / "schema.py", _PACKAGE / "scenario" / "table.py"]
    return files


def sources_digest(files: list[Path] | None = None) -> str:
    """SHA-256 over the names and contents of the kernel's source files (and numba's version)."""
    import numba

    h = hashlib.sha256(numba.__version__.encode())
    for path in files if files is not None else kernel_sources():
        h.update(path.name.encode())
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")
    return h.hexdigest()


def cache_dirs(source: Path) -> list[Path]:
    """Directories where numba may cache functions defined in ``source``.

    The same places numba's own locators use (``numba.core.caching``): ``NUMBA_CACHE_DIR``, the
    ``__pycache__`` folder next to the file, and the user-wide cache folder.
    """
    from numba.core import caching, config

    dirs = []
    subpath = caching._CacheLocator.get_suitable_cache_subpath(str(source))
    if config.CACHE_DIR:
        dirs.append(Path(config.CACHE_DIR) / subpath)
    dirs.append(source.parent / "__pycache__")
    try:
        from numba.misc.appdirs import AppDirs

        dirs.append(Path(AppDirs(appname="numba", appauthor=False).user_cache_dir) / subpath)
    except Exception:  # pragma: no cover - numba internals moved
        pass
    return dirs


def write_dirs(source: Path) -> list[Path]:
    """The folder numba will write ``source``'s cache to, as its locators choose it
    (``numba.core.caching``): ``NUMBA_CACHE_DIR`` when set, else the ``__pycache__`` folder next
    to the file when that can be written, else the user-wide cache folder."""
    dirs = cache_dirs(source)
    from numba.core import config

    if config.CACHE_DIR:
        return dirs[:1]
    in_tree = source.parent / "__pycache__"
    writable = in_tree if in_tree.is_dir() else in_tree.parent
    if os.access(writable, os.W_OK):
        return [in_tree]
    return [d for d in dirs if d != in_tree][:1]


def clear_stale_caches(
    sources: list[Path] | None = None, directories: dict[Path, set[str]] | None = None
) -> list[Path]:
    """Delete the kernel's cached machine code wherever it was built from other sources.

    ``sources`` defaults to :func:`kernel_sources`, ``directories`` (cache folder -> names of the
    modules whose cache files live there) to the folders of :func:`cache_dirs`. A folder that does
    not exist yet is created and stamped when numba will write there (:func:`write_dirs`; every
    folder of ``directories`` when given). Returns the cache files deleted (empty when every
    cache is current or none exists).
    """
    deleted: list[Path] = []
    try:
        files = kernel_sources() if sources is None else list(sources)
        digest = sources_digest(files)
        if directories is None:
            directories = {}
            for source in files:
                for d in cache_dirs(source):
                    directories.setdefault(d, set()).add(source.stem)
            create = {d for source in files for d in write_dirs(source)}
        else:
            create = set(directories)
    except Exception:  # pragma: no cover - never break an import
        return deleted
    for directory, modules in directories.items():
        try:
            if not directory.is_dir():
                if directory not in create:
                    continue
                # numba will build the cache here in this process: stamp the (empty) folder
                # now, so that the next process keeps what is built.
                directory.mkdir(parents=True, exist_ok=True)
            stamp = directory / STAMP_NAME
            try:
                current = stamp.read_text().strip()
            except OSError:
                current = ""
            if current == digest:
                continue
            for path in directory.iterdir():
                if path.suffix in (".nbi", ".nbc") and path.name.split(".", 1)[0] in modules:
                    try:
                        path.unlink()
                        deleted.append(path)
                    except OSError:
                        pass
            write_text_atomic(digest + "\n", stamp)
        except OSError:
            continue
    return deleted
