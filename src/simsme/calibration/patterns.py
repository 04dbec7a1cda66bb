"""Stylised facts of export entry as data: ``simsme/data/patterns.yaml``.

The patterns file has the format of the targets file (:mod:`simsme.calibration.targets`) and is
checked the same way (:func:`simsme.calibration.check.check_model`, ``simsme check-model
--patterns``). Unlike the targets, no parameter is fitted to a pattern.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from simsme.calibration.targets import TargetSet, load_targets
from simsme.errors import ScenarioError, did_you_mean

DEFAULT_PATTERNS = "patterns.yaml"


def load_patterns(path: str | Path | None = None) -> TargetSet:
    """Read and validate a patterns file (default: the one shipped in ``simsme/data``).

    Raises :class:`~simsme.errors.ScenarioError` (exit code 2 in the CLI) naming the file, the
    field and what was expected.
    """
    if path is None:
        ref = resources.files("simsme").joinpath("data", DEFAULT_PATTERNS)
        with resources.as_file(ref) as file:
            return load_targets(file)
    return load_targets(path)


def known_statistics(scenario) -> list[str]:
    """Names of the per-replication statistics a check of ``scenario`` computes (the columns of
    :func:`simsme.calibration.statistics.replication_statistics`; some, such as
    ``digital_share_<year>``, depend on the scenario's dates)."""
    from simsme.calibration.statistics import replication_statistics
    from simsme.outputs import RunBlock
    from simsme.scenario.lowering import lower

    arrays = lower(scenario)
    block = RunBlock.empty(arrays, np.array([0], dtype=np.int64))
    table = replication_statistics(block, arrays, scenario.time.start_date.year)
    return [c for c in table.columns if c != "replication"]


def variant_statistics(targets: TargetSet, scenario, case_dir: Path | None) -> list[str]:
    """Statistics computed for ``scenario`` or any variant the targets compare (a variant can
    move the dates, and with them the ``digital_share_<year>`` columns); variants whose case file
    is not found are left out."""
    from simsme.calibration.check import needed_variants, variant_scenario

    known: dict[str, None] = {}
    for name in needed_variants(targets):
        resolved = variant_scenario(scenario, name, targets.variants[name], case_dir)
        if resolved is not None:
            known.update(dict.fromkeys(known_statistics(resolved)))
    return list(known) or known_statistics(scenario)


def check_statistic_names(targets: TargetSet, known: list[str], path: str | Path) -> None:
    """Raise :class:`~simsme.errors.ScenarioError` naming ``path`` and each
    ``targets.<name>.statistic`` that is not among ``known``."""
    problems = [
        f"targets.{t.name}.statistic: unknown statistic '{t.statistic}'"
        f"{did_you_mean(t.statistic, known)}"
        for t in targets.targets
        if t.statistic not in known
    ]
    if problems:
        raise ScenarioError(problems, str(path))
