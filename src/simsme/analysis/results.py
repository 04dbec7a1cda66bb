"""Reading results folders: single runs (``simsme run``) and sweeps (``simsme sweep``).

A *run* folder holds ``replications.parquet`` (and usually ``smes.parquet``, ``channel_mix.parquet``,
``summary.json``, ``manifest.json``; see :mod:`simsme.experiments.run`). A *sweep* folder holds
``points.parquet`` (one row per design point: ``point``, ``status``, ``error`` and one column per
varied parameter, named by its dotted path), ``summary.parquet`` (``point``, ``replication`` and the
columns of the replications table), ``manifest.json`` (``"kind": "sweep"``, ``"design"``,
``"parameters"``) and optionally ``sensitivity.parquet``.

Folders are read only when finished and not being written (:mod:`simsme.results.folder`): a folder
whose writer still holds its lock, or without its manifest, is refused with a message; a damaged
manifest is :class:`simsme.results.folder.DamagedFolder` (exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from simsme.errors import SimsmeError
from simsme.results.folder import check_not_being_written, read_state
from simsme.scenario.lowering import DAYS_PER_YEAR

WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0
"""Weeks in a (Julian) year, the unit the outputs use to turn weeks into years."""

FolderKind = Literal["run", "sweep"]


def folder_kind(folder: str | Path) -> FolderKind:
    """Whether ``folder`` holds the finished results of a run or of a sweep.

    Its ``manifest.json`` decides (it is written last, so a folder without one is unfinished or
    not a results folder). Raises :class:`SimsmeError` when it is neither (or does not exist).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SimsmeError(
            f"{folder}: no such results folder (no manifest.json of `simsme run` or "
            "`simsme sweep` there)"
        )
    check_not_being_written(folder)
    manifest = _read_json(folder / "manifest.json")
    if not manifest:
        if (folder / ".chunks").is_dir():
            raise SimsmeError(
                f"{folder}: unfinished results (no manifest.json yet); run the same `simsme run` "
                "or `simsme sweep` command again to finish them"
            )
        raise SimsmeError(
            f"{folder}: not a results folder; expected the manifest.json that `simsme run` and "
            "`simsme sweep` write last"
        )
    kind = "sweep" if manifest.get("kind") == "sweep" else "run"
    table = "points.parquet" if kind == "sweep" else "replications.parquet"
    if not (folder / table).exists():
        raise SimsmeError(f"{folder}: the manifest describes a {kind}, but {table} is missing")
    return kind


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object file (``{}`` when missing); a damaged one is one clear message."""
    return read_state(path) or {}


def _read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=columns)
    except FileNotFoundError as err:
        raise SimsmeError(f"{path}: not found") from err
    except (ValueError, KeyError) as err:
        raise SimsmeError(f"{path}: cannot read the columns {columns} ({err})") from err
    except Exception as err:  # pyarrow raises its own errors for damaged files
        raise SimsmeError(f"{path}: not a readable parquet file ({err})") from err


@dataclass
class RunResults:
    """The results folder of one run, read lazily.

    Attributes
    ----------
    folder: the folder.
    manifest: ``manifest.json`` (empty if the folder has none).
    """

    folder: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    label_override: str | None = None

    @property
    def label(self) -> str:
        """Name used in tables and legends: the scenario name, else the folder name."""
        if self.label_override:
            return self.label_override
        return str(self.manifest.get("scenario_name") or self.folder.name)

    @cached_property
    def replications(self) -> pd.DataFrame:
        """One row per replication (MODEL.md section 6)."""
        return _read_parquet(self.folder / "replications.parquet")

    @cached_property
    def channel_mix(self) -> pd.DataFrame:
        """Applications by calendar year and channel, per replication."""
        return _read_parquet(self.folder / "channel_mix.parquet")

    @cached_property
    def summary(self) -> dict[str, Any]:
        return _read_json(self.folder / "summary.json")

    @property
    def has_smes(self) -> bool:
        return (self.folder / "smes.parquet").exists()

    def smes(self, columns: list[str] | None = None) -> pd.DataFrame:
        """The per-SME table (optionally only some columns).

        Raises :class:`SimsmeError` when the run was made with ``--no-smes``.
        """
        path = self.folder / "smes.parquet"
        if not path.exists():
            raise SimsmeError(
                f"{path}: not found; survival analysis needs the per-SME table, so run the "
                "scenario again without --no-smes"
            )
        return _read_parquet(path, columns)

    @cached_property
    def scenario(self):  # -> Scenario (imported lazily: pydantic models are slow to import)
        """The resolved scenario recorded in the manifest."""
        from simsme.scenario.schema import Scenario

        raw = self.manifest.get("scenario")
        if raw is None:
            raise SimsmeError(f"{self.folder / 'manifest.json'}: no 'scenario' recorded")
        try:
            return Scenario.model_validate(raw)
        except Exception as err:
            raise SimsmeError(
                f"{self.folder / 'manifest.json'}: field 'scenario' is not a valid scenario ({err})"
            ) from err

    @property
    def horizon_weeks(self) -> float | None:
        """The run's horizon in weeks (from the manifest), if recorded."""
        scenario = self.manifest.get("scenario") or {}
        years = (scenario.get("time") or {}).get("horizon_years")
        return None if years is None else float(years) * WEEKS_PER_YEAR


@dataclass
class SweepResults:
    """The results folder of a sweep, read lazily (:func:`load_sweep` opens one).

    The tables may also be given (``loaded_*``), e.g. for a sweep assembled in memory.
    """

    folder: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    loaded_points: pd.DataFrame | None = None
    loaded_summary: pd.DataFrame | None = None
    loaded_design_matrix: pd.DataFrame | None = None

    @cached_property
    def design_matrix(self) -> pd.DataFrame | None:
        """SALib's sample matrix (``design.parquet``) of a sampled design; ``None`` otherwise."""
        if self.loaded_design_matrix is not None:
            return self.loaded_design_matrix
        path = self.folder / "design.parquet"
        return _read_parquet(path) if path.exists() else None

    @property
    def label(self) -> str:
        m = self.manifest
        return str(m.get("sweep_name") or m.get("name") or self.folder.name)

    @property
    def design(self) -> str:
        """The design kind: grid, points/list, lhs, sobol or morris."""
        design = self.manifest.get("design", "?")
        if isinstance(design, dict):
            design = design.get("kind", "?")
        return str(design)

    def _parameter_entries(self) -> list[dict[str, Any]]:
        listed = self.manifest.get("parameters") or []
        return [p if isinstance(p, dict) else {"name": str(p)} for p in listed]

    @property
    def parameters(self) -> list[str]:
        """The varied parameters (dotted paths, the column names), in the manifest's order."""
        names = [str(p.get("name")) for p in self._parameter_entries() if p.get("name")]
        if names:
            return names
        return [c for c in self.points.columns if c not in ("point", "status", "error")]

    def is_log(self, parameter: str) -> bool:
        """Whether the parameter was sampled on a log scale (``log: true`` in the sweep file)."""
        return any(
            p.get("name") == parameter and bool(p.get("log")) for p in self._parameter_entries()
        )

    @cached_property
    def points(self) -> pd.DataFrame:
        if self.loaded_points is not None:
            return self.loaded_points
        points = _read_parquet(self.folder / "points.parquet")
        missing = {"point", "status"} - set(points.columns)
        if missing:
            raise SimsmeError(
                f"{self.folder / 'points.parquet'}: missing column(s) {sorted(missing)}"
            )
        return points

    @cached_property
    def summary(self) -> pd.DataFrame:
        """One row per design point and replication.

        When the sweep kept its per-SME tables (``smes/``, ``simsme sweep --smes``), a
        censoring-aware ``km_median_ttfe_weeks`` (Kaplan-Meier median of each replication) is
        added; ``median_ttfe_weeks`` is the median over exporters only.
        """
        if self.loaded_summary is not None:
            return self.loaded_summary
        summary = _read_parquet(self.folder / "summary.parquet")
        if "point" not in summary.columns:
            raise SimsmeError(f"{self.folder / 'summary.parquet'}: missing column 'point'")
        smes = self.folder / "smes"
        if smes.is_dir() and "km_median_ttfe_weeks" not in summary.columns:
            from simsme.analysis.survival import km_medians

            table = _read_parquet(smes, ["point", "replication", "ttfe_weeks", "exported"])
            table["point"] = table["point"].astype("int64")
            medians = km_medians(table, ["point", "replication"]).reset_index()
            summary = summary.merge(medians, on=["point", "replication"], how="left")
        return summary

    @property
    def has_sensitivity(self) -> bool:
        return (self.folder / "sensitivity.parquet").exists()

    @cached_property
    def sensitivity(self) -> pd.DataFrame:
        return _read_parquet(self.folder / "sensitivity.parquet")

    @property
    def failed_points(self) -> int:
        return int((self.points["status"] != "ok").sum())


def load_run(folder: str | Path, label: str | None = None) -> RunResults:
    """Open a run's results folder (``label`` replaces the scenario name in legends)."""
    folder = Path(folder)
    if folder_kind(folder) != "run":
        raise SimsmeError(
            f"{folder}: holds the results of a sweep; this needs the folder of a single run"
        )
    manifest = _read_json(folder / "manifest.json")
    if manifest and manifest.get("status") not in (None, "complete"):
        raise SimsmeError(
            f"{folder}: the run is not complete (status {manifest.get('status')!r}); run the "
            "same command again to finish it"
        )
    return RunResults(folder=folder, manifest=manifest, label_override=label)


def load_sweep(folder: str | Path) -> SweepResults:
    """Open a sweep's results folder."""
    folder = Path(folder)
    if folder_kind(folder) != "sweep":
        raise SimsmeError(f"{folder}: holds the results of a single run, not of a sweep")
    manifest = _read_json(folder / "manifest.json")
    if manifest.get("status") not in (None, "complete"):
        raise SimsmeError(
            f"{folder}: the sweep is not complete (status {manifest.get('status')!r}); run its "
            "`simsme sweep` command again to finish it"
        )
    if manifest.get("shard"):
        raise SimsmeError(
            f"{folder}: holds shard {manifest['shard']} only: join the shards with "
            "`simsme merge` first"
        )
    return SweepResults(folder=folder, manifest=manifest)


def load_results(folder: str | Path) -> RunResults | SweepResults:
    """Open a results folder of either kind."""
    return load_run(folder) if folder_kind(folder) == "run" else load_sweep(folder)
