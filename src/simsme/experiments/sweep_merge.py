"""``simsme merge``: join the folders of a sharded sweep into the folder of the whole sweep."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from simsme.errors import SimsmeError
from simsme.experiments.sweep_folder import SweepResult
from simsme.experiments.sweep_tables import finish_summary, parse_shard, summary_template
from simsme.outputs import OUTPUT_VERSION
from simsme.results.fingerprint import key_differences
from simsme.results.folder import (
    CHUNKS_DIR,
    MANIFEST,
    PROGRESS_FILE,
    DamagedFolder,
    ResultsFolder,
    copy_atomic,
    read_state,
)
from simsme.scenario.loading import validate_scenario


def _shard_manifests(folders: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    manifests: list[tuple[Path, dict[str, Any]]] = []
    problems: list[str] = []
    for folder in folders:
        manifest = read_state(folder / MANIFEST)
        if manifest is None:
            unfinished = (folder / CHUNKS_DIR / PROGRESS_FILE).exists()
            problems.append(
                f"{folder}: "
                + (
                    "unfinished shard: run its `simsme sweep ... --shard` command again"
                    if unfinished
                    else "no manifest.json: expected a finished `simsme sweep --shard` folder"
                )
            )
            continue
        if manifest.get("kind") != "sweep" or manifest.get("status") != "complete":
            problems.append(f"{folder}: expected a finished sweep folder")
            continue
        manifests.append((folder, manifest))
    if problems:
        raise SimsmeError("cannot merge:\n" + "\n".join(f"  - {p}" for p in problems))
    return manifests


def _check_shards(manifests: list[tuple[Path, dict[str, Any]]]) -> dict[int, Path]:
    """The shards by index; every problem (other sweep, other code, missing or repeated shard)
    is listed in one message."""
    problems: list[str] = []
    first_folder, first = manifests[0]
    first_key = first.get("key")
    counts: dict[int, Path] = {}
    first_count: int | None = None
    for folder, m in manifests:
        key = m.get("key")
        if not isinstance(key, dict) or key.get("outputs") != OUTPUT_VERSION:
            problems.append(
                f"{folder}: written by another version of simsme (other output definitions); "
                "run that shard again with --force-new"
            )
            continue
        if m.get("sweep_hash") != first.get("sweep_hash"):
            problems.append(
                f"{folder}: sweep hash {str(m.get('sweep_hash'))[:8]}: expected "
                f"{str(first.get('sweep_hash'))[:8]} (as {first_folder}); shards of one sweep only"
            )
            continue
        if m.get("smes") != first.get("smes"):
            problems.append(f"{folder}: --smes differs from {first_folder}")
        if isinstance(first_key, dict):
            differ = key_differences({**first_key, "shard": None}, {**key, "shard": None})
            if differ and m.get("smes") == first.get("smes"):
                problems.append(f"{folder}: differs from {first_folder}: {'; '.join(differ)}")
        shard = m.get("shard")
        if not shard or not isinstance(shard, str):
            problems.append(f"{folder}: not a shard (run with --shard I/N)")
            continue
        index, count = parse_shard(shard)  # type: ignore[misc]
        first_count = first_count or count
        if count != first_count:
            problems.append(f"{folder}: shard {shard}: expected one of {first_count} shards")
        elif index in counts:
            problems.append(f"{folder}: shard {shard} is also in {counts[index]}")
        else:
            counts[index] = folder
    if not problems and first_count:
        missing = [i for i in range(1, first_count + 1) if i not in counts]
        if missing:
            problems.append(
                f"missing shard(s) {', '.join(f'{i}/{first_count}' for i in missing)}: "
                f"expected all {first_count}"
            )
    if problems:
        raise SimsmeError("cannot merge:\n" + "\n".join(f"  - {p}" for p in problems))
    return counts


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as err:  # missing or damaged: pyarrow's own errors
        raise DamagedFolder(
            f"{path}: cannot be read ({err}); run that shard again with --force-new"
        ) from None


def merge_shards(
    folders: list[str | Path], out: str | Path | None = None, force_new: bool = False
) -> SweepResult:
    """Join the folders of ``--shard 1/N`` ... ``N/N`` into the folder of the whole sweep.

    The shards must be complete, of the same sweep (same hash, ``--smes`` and code), and
    together hold every shard exactly once. The tables are identical to an unsharded run's.
    """
    if not folders:
        raise SimsmeError("merge: expected the shard folders to join")
    manifests = _shard_manifests([Path(f) for f in folders])
    counts = _check_shards(manifests)
    first_folder, first = manifests[0]
    folder = (
        Path(out)
        if out is not None
        else Path("results") / "sweeps" / f"{first['sweep_name']}-{first['sweep_hash'][:8]}"
    )
    key = {**first["key"], "shard": None}
    if any(Path(f).resolve() == folder.resolve() for f, _ in manifests):
        raise SimsmeError(f"--out: {folder} is one of the shards: expected a new folder")
    ordered = [counts[i] for i in sorted(counts)]
    by_folder = {f: m for f, m in manifests}
    with ResultsFolder.open(folder, "sweep") as results:
        old = results.manifest()
        if old is not None and old.get("key") != key and not force_new:
            reasons = "; ".join(key_differences(old.get("key"), key))
            raise SimsmeError(
                f"{folder}: already holds other results ({reasons}); choose another --out or "
                "pass --force-new to replace them"
            )
        results.clear()
        results.set_kind("sweep")
        # The shards' points tables carry the parameter columns with the whole design's dtypes.
        status = pd.concat([_read(f / "points.parquet") for f in ordered], ignore_index=True)
        points = status.sort_values("point", kind="stable").reset_index(drop=True)
        summary = finish_summary(
            [_read(f / "summary.parquet") for f in ordered],
            summary_template(validate_scenario(first["base_scenario_resolved"], "<manifest>")),
        )
        if first.get("smes"):
            results.claim("smes/")
            for f in ordered:
                for part in sorted((f / "smes").glob("point=*/*.parquet")):
                    copy_atomic(part, folder / "smes" / part.parent.name / part.name)
        design = first_folder / "design.parquet"
        if design.exists():
            results.write_parquet("design.parquet", _read(design))
        results.write_parquet("points.parquet", points)
        results.write_parquet("summary.parquet", summary)
        all_manifests = [by_folder[f] for f in ordered]
        shard_info = [
            {
                "folder": str(f),
                **{k: m.get(k) for k in ("shard", "executor", "started", "finished", "n_failed")},
            }
            for f, m in zip(ordered, all_manifests, strict=True)
        ]
        n_failed = int((points["status"] != "ok").sum())
        timing = {
            k: sum(m.get("timing", {}).get(k, 0.0) for m in all_manifests)
            for k in ("kernel_seconds", "point_seconds", "task_seconds")
        }
        manifest = {
            **first,
            "key": key,
            "shard": None,
            "points_in_folder": int(len(points)),
            "n_ok": int(len(points) - n_failed),
            "n_failed": n_failed,
            "executor": {"kind": "shards", "shards": shard_info},
            "resumed_points": 0,
            "timing": timing,
            "started": min(m["started"] for m in all_manifests),
            "finished": max(m["finished"] for m in all_manifests),
            "merged": dt.datetime.now(dt.UTC).isoformat(),
            "command": " ".join(sys.argv) if sys.argv else None,
        }
        manifest.pop("base_scenario_resolved", None)
        manifest["base_scenario_resolved"] = first.get("base_scenario_resolved")
        results.write_json("manifest.json", manifest)
    return SweepResult(folder, manifest, points, summary)
