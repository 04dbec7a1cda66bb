"""The fixed sets of values that command-line options take, as enums that ``--help`` lists.

They are ``StrEnum``s, so a member is the string it names (``Engine.mesa == "mesa"``) and the
library functions the commands call take them as they take plain strings. Each set mirrors the
library's own list (``tests/test_conventions.py`` checks that they agree); it is repeated here so
that ``simsme --help`` does not import the kernel, pandas or matplotlib to show it.
"""

from __future__ import annotations

from enum import StrEnum


class Engine(StrEnum):
    """``simsme.experiments.run.ENGINES``."""

    kernel = "kernel"
    mesa = "mesa"


class Executor(StrEnum):
    """``simsme.experiments.sweep_exec.EXECUTORS``."""

    local = "local"
    dask = "dask"


class Bandwidth(StrEnum):
    """``simsme.calibration.abc.BANDWIDTHS``."""

    silverman = "silverman"
    wide = "wide"


class ImageFormat(StrEnum):
    """``simsme.plots.style.FORMATS``."""

    png = "png"
    svg = "svg"
    pdf = "pdf"


class Grouping(StrEnum):
    """Groupings of one run's SMEs: ``simsme.analysis.survival.GROUPINGS`` less ``scenario``."""

    size_class = "size_class"
    region = "region"
    channel_mix = "channel_mix"
    agency_digitalisation = "agency_digitalisation"


class Figure(StrEnum):
    """Figures of ``simsme plot``: ``simsme.plots.run.figure_names`` for every grouping, then
    ``simsme.plots.sweep.SWEEP_FIGURES``."""

    survival = "survival"
    survival_by_size_class = "survival_by_size_class"
    survival_by_region = "survival_by_region"
    survival_by_channel_mix = "survival_by_channel_mix"
    survival_by_agency_digitalisation = "survival_by_agency_digitalisation"
    ttfe_by_size_class = "ttfe_by_size_class"
    ttfe_by_region = "ttfe_by_region"
    ttfe_by_channel_mix = "ttfe_by_channel_mix"
    ttfe_by_agency_digitalisation = "ttfe_by_agency_digitalisation"
    share_exported = "share_exported"
    channel_mix = "channel_mix"
    uptake_by_focus = "uptake_by_focus"
    sweep_response = "sweep_response"
    sweep_heatmap = "sweep_heatmap"
    sensitivity = "sensitivity"


class Cluster(StrEnum):
    """How ``simsme compare`` resamples (``simsme.analysis.compare_runs``)."""

    auto = "auto"
    replication = "replication"
    sme = "sme"


class SchemaKind(StrEnum):
    """``simsme.schemas.SCHEMA_FILES``."""

    scenario = "scenario"
    sweep = "sweep"
