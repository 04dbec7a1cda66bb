"""The numba cache guard stamps a cache folder that does not exist yet (issue 14, item 8).

Without the stamp, the cache numba builds in a fresh ``NUMBA_CACHE_DIR`` was deleted as stale by
the next process, which compiled the kernel a second time. These tests exercise the stamp logic
on stand-in source files; nothing is compiled.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from numba.core import config

from simsme.kernel.cache import (
    STAMP_NAME,
    cache_dirs,
    clear_stale_caches,
    sources_digest,
    write_dirs,
)


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    src = tmp_path / "src"
    src.mkdir()
    files = [src / "rules.py", src / "phases.py"]
    for i, path in enumerate(files):
        path.write_text(f"A = {i}\n")
    return files


def _numba_writes(folder: Path) -> list[Path]:
    """What numba leaves after compiling in this process."""
    made = [folder / "phases.step-10.py311.nbi", folder / "phases.step-10.py311.1.nbc"]
    for path in made:
        path.write_bytes(b"machine code")
    return made


def test_a_fresh_numba_cache_dir_is_stamped_and_kept_by_the_next_process(
    tmp_path: Path, sources: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh = tmp_path / "fresh-cache"  # NUMBA_CACHE_DIR given, but not made yet
    monkeypatch.setattr(config, "CACHE_DIR", str(fresh))
    folder = cache_dirs(sources[0])[0]
    assert write_dirs(sources[0]) == [folder] and not folder.exists()

    # first process: imports simsme.kernel (the guard runs), then numba compiles and caches
    assert clear_stale_caches(sources) == []
    assert (folder / STAMP_NAME).read_text().strip() == sources_digest(sources)
    built = _numba_writes(folder)

    # next process: same sources, so numba's fresh cache is kept (no second compile)
    assert clear_stale_caches(sources) == []
    assert all(path.exists() for path in built)

    # a real edit still clears it
    sources[0].write_text("A = 99\n")
    assert sorted(clear_stale_caches(sources)) == sorted(built)


def test_only_the_folder_numba_writes_to_is_created(
    tmp_path: Path, sources: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(config, "CACHE_DIR", "")
    in_tree, *others = cache_dirs(sources[0])  # no NUMBA_CACHE_DIR: in-tree, user-wide
    assert write_dirs(sources[0]) == [in_tree]  # the source folder is writable
    clear_stale_caches(sources)
    assert (in_tree / STAMP_NAME).read_text().strip() == sources_digest(sources)
    for other in others:  # the user-wide folder for these stand-in sources is not made
        assert not other.exists()
