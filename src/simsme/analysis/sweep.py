"""Tables of a sweep's results: an output against each varied parameter, two-parameter grids,
sensitivity indices.

A sweep's ``summary.parquet`` has one row per design point and replication with the columns of the
replications table; points whose ``status`` is not ``"ok"`` in ``points.parquet`` are left out.
Means across replications get Student-t intervals (:func:`simsme.results.summary.mean_ci`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simsme.analysis.results import SweepResults
from simsme.analysis.survival import LEVEL
from simsme.errors import SimsmeError, did_you_mean
from simsme.results.summary import BEYOND_HORIZON, bounds_of, mean_ci, replication_mean

PREFERRED_OUTPUTS = ("km_median_ttfe_weeks", "restricted_mean_ttfe_weeks", "median_ttfe_weeks")
"""Default output of sweep figures: the first present and defined everywhere wins."""

MAX_LEVELS = 12
"""Parameters with more distinct values than this (LHS, Sobol, Morris designs) are binned."""


def default_output(sweep: SweepResults) -> str:
    """The first of :data:`PREFERRED_OUTPUTS` defined in every replication.

    (The Kaplan-Meier median is undefined where fewer than half of the SMEs exported within the
    horizon; the restricted mean, always defined, is then the default. Results of older versions
    without it fall back to the median over exporters, with its bias.)
    """
    summary = sweep.summary
    present = [name for name in PREFERRED_OUTPUTS if name in summary.columns]
    for name in present:
        if summary[name].notna().all():
            return name
    for name in present:
        if summary[name].notna().any():
            return name
    numeric = [
        c
        for c in sweep.summary.columns
        if c not in ("point", "replication") and pd.api.types.is_numeric_dtype(sweep.summary[c])
    ]
    if not numeric:
        raise SimsmeError(f"{sweep.folder / 'summary.parquet'}: no numeric output column")
    return numeric[0]


def check_output(sweep: SweepResults, output: str) -> None:
    columns = [c for c in sweep.summary.columns if c not in ("point", "replication")]
    if output not in columns:
        raise SimsmeError(
            f"--output: '{output}' is not a column of {sweep.folder / 'summary.parquet'}"
            f"{did_you_mean(output, columns)}"
        )


def check_parameter(sweep: SweepResults, parameter: str) -> None:
    if parameter not in sweep.points.columns:
        raise SimsmeError(
            f"{sweep.folder / 'points.parquet'}: no column for parameter '{parameter}'"
            f"{did_you_mean(parameter, sweep.points.columns)}"
        )


def replicate_table(sweep: SweepResults, output: str) -> pd.DataFrame:
    """One row per successful point and replication: the parameters and ``output``."""
    check_output(sweep, output)
    if not sweep.summary[output].notna().any():
        raise SimsmeError(
            f"--output: '{output}' is undefined (NaN) at every point of {sweep.folder}"
            + (
                " (fewer than half of the SMEs exported within the horizon, so no median); "
                "choose another, e.g. --output share_exported"
                if "median" in output
                else ""
            )
        )
    params = sweep.parameters
    for p in params:
        check_parameter(sweep, p)
    ok = sweep.points[sweep.points["status"] == "ok"][["point", *params]]
    table = sweep.summary[["point", "replication", output]].merge(ok, on="point", how="inner")
    if table.empty:
        raise SimsmeError(f"{sweep.folder}: no successful design point to plot")
    return table


def _ci_row(values: pd.Series, level: float) -> dict[str, float]:
    name = str(values.name)
    ci = mean_ci(values, level, bounds_of(name), nan_beyond_horizon=name in BEYOND_HORIZON)
    return {
        "mean": np.nan if ci["mean"] is None else ci["mean"],
        "ci_low": np.nan if ci["ci_low"] is None else ci["ci_low"],
        "ci_high": np.nan if ci["ci_high"] is None else ci["ci_high"],
        "n": ci["n"],
    }


def point_table(sweep: SweepResults, output: str, level: float = LEVEL) -> pd.DataFrame:
    """Mean of ``output`` per design point across its replications, with its interval."""
    table = replicate_table(sweep, output)
    rows = []
    for point, group in table.groupby("point", sort=True):
        row = {"point": point, **group.iloc[0][sweep.parameters].to_dict()}
        row.update(_ci_row(group[output], level))
        rows.append(row)
    return pd.DataFrame(rows)


def is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def marginal_table(
    sweep: SweepResults,
    parameter: str,
    output: str,
    level: float = LEVEL,
    bins: int = 8,
) -> pd.DataFrame:
    """Mean of ``output`` against one parameter, over the points at each value (or bin).

    Each point is first reduced to its mean over replications; the interval is a t interval
    over those point means (replications of one point share its parameters, so they are not
    independent draws of the marginal). Columns ``x`` (the value, or the mean value of a bin),
    ``mean``, ``ci_low``, ``ci_high``, ``n`` (points) and ``binned``. Numeric parameters with
    more than :data:`MAX_LEVELS` distinct values are cut into ``bins`` quantile bins.
    """
    table = _point_means(sweep, output)
    values = table[parameter]
    binned = is_numeric(values) and values.nunique() > MAX_LEVELS
    key = pd.qcut(values, q=bins, duplicates="drop") if binned else values
    rows = []
    for _, group in table.groupby(key, sort=True, observed=True):
        x = group[parameter].mean() if binned else group[parameter].iloc[0]
        rows.append({"x": x, **_ci_row(group[output], level), "binned": binned})
    return pd.DataFrame(rows)


def _point_means(sweep: SweepResults, output: str) -> pd.DataFrame:
    """One row per successful point: its parameters and the mean of ``output`` over its
    replications (:func:`simsme.results.summary.replication_mean`)."""
    table = replicate_table(sweep, output)
    means = table.groupby("point", sort=True)[output].agg(replication_mean)
    first = table.groupby("point", sort=True)[sweep.parameters].first()
    return first.assign(**{output: means}).reset_index()


def pair_table(
    sweep: SweepResults, x: str, y: str, output: str, bins: int = 6
) -> tuple[pd.DataFrame, bool]:
    """Mean of ``output`` over a two-parameter grid: rows are ``y`` levels, columns ``x`` levels.

    Parameters with many distinct values are cut into ``bins`` quantile bins (labelled by the mean
    value in the bin). Returns the table and whether any parameter was binned.
    """
    table = _point_means(sweep, output)
    binned = False
    keys = {}
    for p in (x, y):
        values = table[p]
        if is_numeric(values) and values.nunique() > MAX_LEVELS:
            cut = pd.qcut(values, q=bins, duplicates="drop")
            keys[p] = table.groupby(cut, observed=True)[p].transform("mean")
            binned = True
        else:
            keys[p] = values
    grid = (
        table.assign(_x=keys[x], _y=keys[y])
        .groupby(["_y", "_x"], observed=True)[output]
        .agg(replication_mean)
        .unstack("_x")
        .sort_index()
    )
    grid = grid.reindex(sorted(grid.columns), axis=1)
    grid.index.name, grid.columns.name = y, x
    return grid, binned


def ranked_parameters(sweep: SweepResults, output: str) -> list[str]:
    """Parameters, most influential on ``output`` first (by ST or mu*, where recorded)."""
    params = list(sweep.parameters)
    if not sweep.has_sensitivity:
        return params
    sens = sweep.sensitivity
    sens = sens[sens["output"] == output] if "output" in sens.columns else sens
    for col in ("ST", "mu_star"):
        if col in sens.columns and sens[col].notna().any():
            order = sens.groupby("parameter")[col].max().sort_values(ascending=False).index
            return [p for p in order if p in params] + [p for p in params if p not in set(order)]
    return params


def sensitivity_table(sweep: SweepResults, output: str | None = None) -> pd.DataFrame:
    """The sensitivity indices (of ``output``, or of every output)."""
    if not sweep.has_sensitivity:
        raise SimsmeError(
            f"{sweep.folder}: no sensitivity.parquet (only Sobol and Morris designs have one)"
        )
    sens = sweep.sensitivity
    missing = {"parameter", "method"} - set(sens.columns)
    if missing:
        raise SimsmeError(
            f"{sweep.folder / 'sensitivity.parquet'}: missing column(s) {sorted(missing)}"
        )
    if output is not None and "output" in sens.columns:
        sens = sens[sens["output"] == output]
    return sens.reset_index(drop=True)
