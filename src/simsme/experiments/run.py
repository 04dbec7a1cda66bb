"""Running one scenario: replications on an engine, streamed into a results folder.

``run_scenario`` is what ``simsme run`` calls. The results folder holds

* ``smes.parquet``: one row per SME per replication (MODEL.md section 6, per SME);
* ``replications.parquet``: one row per replication (MODEL.md section 6, per replication);
* ``channel_mix.parquet``: applications by calendar year and channel, per replication;
* ``applications.parquet``: one row per application per replication (stages, channels, days,
  decision; ``--no-applications`` leaves it out);
* ``series.parquet``: the per-step series of the Mesa model's DataCollector, replication x step
  (with ``--series``);
* ``summary.json``: headline figures with 95% confidence intervals across replications;
* ``manifest.json``: resolved scenario, seed, engine, versions, times and the scenario hash.

Work is committed in chunks of replications (:class:`simsme.results.chunks.ChunkStore`), so an
interrupted run started again with the same command finishes the remaining replications only.
The folder's rules (marker, lock, key with the code fingerprint) are those of
:mod:`simsme.results.folder`; a finished folder is reused only when its key (scenario, seed,
replications, engine, output definitions and code) equals this run's.
"""

from __future__ import annotations

import datetime as dt
import math
import platform
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from simsme import __version__
from simsme.errors import SimsmeError
from simsme.outputs import (
    OUTPUT_VERSION,
    RunBlock,
    applications_table,
    channel_mix_table,
    replication_table,
    series_table,
    sme_table,
)
from simsme.results.chunks import ChunkStore
from simsme.results.fingerprint import code_fingerprint, git_commit, key_differences, key_digest
from simsme.results.folder import CHUNKS_DIR, ResultsFolder, read_state
from simsme.results.summary import summarise
from simsme.scenario.loading import scenario_hash
from simsme.scenario.lowering import ScenarioArrays, lower
from simsme.scenario.schema import Scenario

Engine = Literal["kernel", "mesa"]
ENGINES: tuple[str, ...] = ("kernel", "mesa")
TABLES = ("replications", "channel_mix", "smes")
DEPENDENCIES = ("mesa", "numpy", "pandas", "numba", "pydantic", "pyarrow", "scipy", "matplotlib")


@dataclass
class RunResult:
    """What a finished run produced."""

    folder: Path
    summary: dict[str, dict[str, Any]]
    manifest: dict[str, Any]
    replications: pd.DataFrame
    reused: bool = False
    """True when the folder already held these results (same scenario, seed and code)."""


def run_key(scenario: Scenario, engine: str) -> dict[str, Any]:
    """Identity of a run: the resolved scenario (seed and replications included), the engine,
    the version of the output definitions (:data:`simsme.outputs.OUTPUT_VERSION`) and the code
    (:func:`simsme.results.fingerprint.code_fingerprint`)."""
    return {
        "kind": "run",
        "scenario": scenario_hash(scenario),
        "engine": engine,
        "outputs": OUTPUT_VERSION,
        "code": code_fingerprint(),
    }


def default_folder(scenario: Scenario, engine: str, root: str | Path = "results") -> Path:
    """``<root>/<name>-<hash8>[-<engine>]``, the hash being that of the run's key: another
    scenario, seed or code gets another folder."""
    short = key_digest(run_key(scenario, engine))[:8]
    suffix = "" if engine == "kernel" else f"-{engine}"
    return Path(root) / f"{scenario.name}-{short}{suffix}"


def versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of simsme, Python and the dependencies (plus ``extra`` packages, if installed)."""
    found = {"simsme": __version__, "python": platform.python_version()}
    for name in (*DEPENDENCIES, *extra):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - optional
            pass
    return found


def chunk_size_for(replications: int, threads: int, arrays: ScenarioArrays | None = None) -> int:
    """Replications per committed chunk: large enough to keep every thread busy, small enough
    that an interruption loses little work (about 1% of the run, at least 8 per thread) and,
    given the lowered scenario, that one chunk's raw outputs stay within a few hundred MB."""
    size = max(1, min(replications, max(8 * threads, math.ceil(replications / 100))))
    if arrays is not None:
        from simsme.kernel.engine import block_size_for

        # sized as if every table were kept (application records, series)
        size = min(
            size, block_size_for(arrays, replications, threads, applications=True, series=True)
        )
    return size


def preflight(scenario: Scenario, engine: str, threads: int | None) -> tuple[ScenarioArrays, int]:
    """Check, before any work or output, that the run can be done; returns the lowered scenario
    and the number of workers. Raises :class:`SimsmeError` (exit code 2) when it cannot."""
    if engine not in ENGINES:
        raise SimsmeError(
            f"--engine: '{engine}' is not an engine; expected one of {', '.join(ENGINES)}"
        )
    arrays = lower(scenario)
    if engine == "kernel":
        from simsme.kernel.engine import check_memory, default_threads

        threads = threads or default_threads()
        check_memory(arrays, chunk_size_for(scenario.replications, threads, arrays), threads)
    return arrays, threads or 1


def engine_blocks(
    engine: str,
    scenario: Scenario,
    arrays: ScenarioArrays,
    replications: np.ndarray,
    threads: int | None,
    progress: Callable[[int], None] | None,
    applications: bool = False,
    series: bool = False,
):
    """Blocks of raw outputs for the given replication indices from the chosen engine
    (``applications`` / ``series``: with application records / per-step series)."""
    if engine == "kernel":
        from simsme.kernel.engine import run_blocks

        return run_blocks(
            arrays,
            replications,
            scenario.seed,
            threads=threads,
            block_size=len(replications),
            progress=progress,
            applications=applications,
            series=series,
        )
    if engine == "mesa":
        from simsme.model import run_blocks as mesa_blocks

        return mesa_blocks(
            scenario,
            replications,
            scenario.seed,
            workers=threads,
            block_size=len(replications),
            progress=progress,
            applications=applications,
            series=series,
        )
    raise SimsmeError(
        f"--engine: '{engine}' is not an engine; expected one of {', '.join(ENGINES)}"
    )


def block_tables(
    block: RunBlock,
    scenario: Scenario,
    arrays: ScenarioArrays,
    with_smes: bool = True,
    with_applications: bool = False,
    with_series: bool = False,
) -> dict[str, pd.DataFrame]:
    """The output tables of one block of replications."""
    agencies = [agency.name for agency in scenario.agencies]
    names = list(scenario.channels)
    regions = [region.name for region in scenario.population.regions]
    start_year = scenario.time.start_date.year
    tables = {
        "replications": replication_table(block, arrays, start_year),
        "channel_mix": channel_mix_table(block, start_year, names, np.asarray(arrays.ch_digital)),
    }
    if with_smes:
        tables["smes"] = sme_table(block, arrays, names, regions)
    if with_applications:
        procedures = [procedure.name for procedure in scenario.procedures]
        tables["applications"] = applications_table(block, names, agencies, procedures)
    if with_series:
        tables["series"] = series_table(block, agencies, names, arrays.step_days)
    return tables


def run_scenario(
    scenario: Scenario,
    out: str | Path | None = None,
    engine: str = "kernel",
    threads: int | None = None,
    with_smes: bool = True,
    force_new: bool = False,
    progress: Callable[[int], None] | None = None,
    source: str | None = None,
    with_applications: bool = True,
    with_series: bool = False,
) -> RunResult:
    """Run ``scenario.replications`` replications with ``scenario.seed`` into a results folder.

    Parameters
    ----------
    scenario: the resolved scenario (overrides already applied).
    out: results folder (default ``results/<name>-<hash8>[-<engine>]``).
    engine: ``"kernel"`` (fast, default) or ``"mesa"`` (reference, agent by agent).
    threads: worker threads (kernel) or processes (Mesa); default all cores.
    with_smes: also write the per-SME table (large for many replications).
    with_applications: also write ``applications.parquet``, one row per application.
    with_series: also write ``series.parquet``, the per-step series (replication x step).
    force_new: replace results of other inputs or code in ``out`` (only files simsme wrote).
    progress: called with the number of replications just finished.
    source: where the scenario came from (recorded in the manifest).
    """
    folder = Path(out) if out is not None else default_folder(scenario, engine)
    arrays, threads = preflight(scenario, engine, threads)
    key = run_key(scenario, engine)
    tables = ["replications", "channel_mix"] + (["smes"] if with_smes else [])
    tables += (["applications"] if with_applications else []) + (["series"] if with_series else [])
    with ResultsFolder.open(folder, "run") as results:
        finished = _finished_run(results, key, tables, force_new)
        if finished is not None:
            return finished
        return _run_into(
            results,
            scenario,
            arrays,
            engine,
            threads,
            key,
            tables,
            with_smes,
            force_new,
            progress,
            source,
        )


def _run_into(
    results: ResultsFolder,
    scenario: Scenario,
    arrays: ScenarioArrays,
    engine: str,
    threads: int,
    key: dict[str, Any],
    tables: list[str],
    with_smes: bool,
    force_new: bool,
    progress: Callable[[int], None] | None,
    source: str | None,
) -> RunResult:
    folder = results.path
    started = dt.datetime.now(dt.UTC)
    # the unfinished chunks are checked (same key) before the old results are cleared
    store = ChunkStore(results, key, force_new=force_new, what="an unfinished run")
    results.clear(keep=(CHUNKS_DIR,))
    results.set_kind("run")
    n = scenario.replications
    done = _committed_ranges(store, tables, n)
    already = sum(stop - first for first, stop in done.values())
    if already and progress is not None:
        progress(already)
    width = len(str(n))
    for reps in _missing_chunks(done.values(), n, chunk_size_for(n, threads, arrays)):
        blocks = engine_blocks(
            engine,
            scenario,
            arrays,
            reps,
            threads,
            progress,
            "applications" in tables,
            "series" in tables,
        )
        for block in blocks:
            first, last = int(block.replication[0]), int(block.replication[-1])
            store.commit(
                f"{first:0{width}d}",
                block_tables(
                    block, scenario, arrays, with_smes, "applications" in tables, "series" in tables
                ),
                {"first": first, "stop": last + 1},
            )
    _check_coverage(store, n)
    for name in tables:
        store.assemble(name)
    replications = pd.read_parquet(folder / "replications.parquet")
    summary = summarise(replications)
    results.write_json("summary.json", summary)
    manifest = {
        "status": "complete",
        "kind": "run",
        "scenario_name": scenario.name,
        "source": source,
        "engine": engine,
        "seed": scenario.seed,
        "replications": n,
        "n_smes": int(arrays.n_total),
        "n_steps": int(arrays.n_steps),
        "scenario_hash": scenario_hash(scenario),
        "key": key,
        "output_version": OUTPUT_VERSION,
        "code": key["code"],
        "git": git_commit(),
        "tables": [f"{name}.parquet" for name in tables],
        "resumed_replications": already,
        "threads": threads,
        "started": started.isoformat(),
        "finished": dt.datetime.now(dt.UTC).isoformat(),
        "command": " ".join(sys.argv) if sys.argv else None,
        "versions": versions(),
        "platform": platform.platform(),
        "scenario": scenario.model_dump(mode="json"),
    }
    results.write_json("manifest.json", manifest)
    store.discard()
    return RunResult(folder=folder, summary=summary, manifest=manifest, replications=replications)


def _finished_run(
    results: ResultsFolder, key: dict[str, Any], tables: list[str], force_new: bool
) -> RunResult | None:
    """A complete earlier run with the same key in the folder (nothing to do), or ``None``.

    A folder holding complete results of another key (other inputs or other code) is refused,
    saying why, unless ``force_new``. Otherwise every output of the earlier run is removed,
    manifest first, before any table is replaced: the folder never looks complete while it
    holds a mix of two runs, and no table of the old run (say ``smes.parquet`` when the new run
    has ``--no-smes``) is left behind (by :func:`_run_into`, once the unfinished chunks, if any,
    are known to be this run's).
    """
    folder = results.path
    manifest = None if force_new else results.manifest()
    if manifest is not None:
        if manifest.get("kind") == "sweep":
            raise SimsmeError(
                f"{folder}: holds the results of a sweep; choose another --out or pass "
                "--force-new to replace them"
            )
        same = manifest.get("key") == key
        has_tables = {f"{name}.parquet" for name in tables} <= set(manifest.get("tables") or [])
        if same and manifest.get("status") == "complete" and has_tables:
            summary = read_state(folder / "summary.json")
            try:
                replications = pd.read_parquet(folder / "replications.parquet")
            except Exception as err:
                raise SimsmeError(
                    f"{folder / 'replications.parquet'}: damaged ({err}); pass --force-new to "
                    "run again"
                ) from None
            if summary is None:
                raise SimsmeError(f"{folder}: summary.json is missing; pass --force-new")
            return RunResult(folder, summary, manifest, replications, reused=True)
        if not same:
            reasons = "; ".join(key_differences(manifest.get("key"), key))
            raise SimsmeError(
                f"{folder}: already holds the results of a different run "
                f"({manifest.get('scenario_name', '?')}, hash "
                f"{str(manifest.get('scenario_hash'))[:8]}): {reasons}; "
                "choose another --out or pass --force-new to replace them"
            )
    return None


def _committed_ranges(store: ChunkStore, tables: list[str], n: int) -> dict[str, tuple[int, int]]:
    """Replication ranges ``[first, stop)`` of the chunks already committed with every table this
    run writes. A chunk without one of them (an earlier ``--no-smes`` attempt) is run again."""
    ranges = {}
    for chunk_id in store.chunk_ids():
        info = store.done[chunk_id]
        first, stop = info.get("first"), info.get("stop")
        valid = isinstance(first, int) and isinstance(stop, int) and 0 <= first < stop <= n
        if set(tables) <= set(info["tables"]) and valid:
            ranges[chunk_id] = (first, stop)
        else:
            store.forget(chunk_id)
    return ranges


def _missing_chunks(done: Iterable[tuple[int, int]], n: int, size: int) -> Iterator[np.ndarray]:
    """Replication indices not yet covered by ``done``, in order, in chunks of at most ``size``.

    Chunks are cut from the gaps, so a run resumed with another number of threads (and so
    another chunk size) neither repeats nor skips a replication.
    """
    covered = np.zeros(n, dtype=bool)
    for first, stop in done:
        covered[first:stop] = True
    missing = np.flatnonzero(~covered)
    if missing.size == 0:
        return
    gaps = np.split(missing, np.flatnonzero(np.diff(missing) != 1) + 1)
    for gap in gaps:
        for start in range(0, len(gap), size):
            yield gap[start : start + size]


def _check_coverage(store: ChunkStore, n: int) -> None:
    """Every replication 0..n-1 exactly once across the committed chunks, in chunk order."""
    expected = 0
    for chunk_id in store.chunk_ids():
        info = store.done[chunk_id]
        if info["first"] != expected:
            raise SimsmeError(
                f"{store.folder}: the unfinished run's chunks do not cover replications "
                f"0..{n - 1} exactly once (chunk {chunk_id} starts at {info['first']}, expected "
                f"{expected}); pass --force-new to discard them and start again"
            )
        expected = info["stop"]
    if expected != n:
        raise SimsmeError(
            f"{store.folder}: the run's chunks end at replication {expected}, expected {n}; "
            "pass --force-new to discard them and start again"
        )
