"""JSON Schemas of the files simsme reads: scenarios and sweeps, for editors and checkers.

Each schema describes what the loader accepts, not only the pydantic model behind it: a scenario
file may change one property of a built-in channel (``channels: {whatsapp: {usefulness: 0}}``)
because :func:`simsme.scenario.loading.validate_scenario` merges it into the default channel, so
the schema lets the ten built-in channels be given in part and asks a new channel for every
required field. Checks that need more than one field (shares that sum to one, names that refer
to other entries) are the loader's alone.

Both schemas ship with the package (``simsme/data/*.schema.json``) so that scenario files can
point at them from a ``# yaml-language-server: $schema=...`` first line. ``simsme schema
[scenario|sweep]`` prints them; regenerate the shipped files with
``python scripts/make_schemas.py``.
"""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any, Literal

DIALECT = "https://json-schema.org/draft/2020-12/schema"

SchemaKind = Literal["scenario", "sweep"]
SCHEMA_FILES: dict[str, str] = {
    "scenario": "scenario.schema.json",
    "sweep": "sweep.schema.json",
}
"""File name of each shipped schema, in the package's ``data`` folder."""


def _all_optional(definition: dict[str, Any], title: str, description: str) -> dict[str, Any]:
    """A copy of an object schema whose fields may all be left out."""
    out = copy.deepcopy(definition)
    out.pop("required", None)
    out["title"] = title
    out["description"] = description
    return out


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (what :func:`simsme.scenario.load_scenario` accepts)."""
    from simsme.scenario.schema import Scenario, default_channels

    schema = Scenario.model_json_schema()
    defs = schema["$defs"]
    defs["LatencyChange"] = _all_optional(
        defs["Latency"],
        "LatencyChange",
        "Changes to a built-in channel's exchange duration; fields left out keep their default.",
    )
    change = _all_optional(
        defs["Channel"],
        "ChannelChange",
        "Changes to a built-in channel (003_9e0cb3511f01b6dc.txt, Table 4); fields left out "
        "keep their default.",
    )
    change["properties"]["latency"] = {
        **change["properties"]["latency"],
        "$ref": "#/$defs/LatencyChange",
    }
    defs["ChannelChange"] = change
    channels = schema["properties"]["channels"]
    channels["description"] = (
        "Channel types by name. A built-in channel ("
        + ", ".join(default_channels())
        + ") may be given in part: the fields given replace its defaults. A new channel needs "
        "every required field (kind, latency.median_days)."
    )
    channels["properties"] = {
        name: {"$ref": "#/$defs/ChannelChange"} for name in default_channels()
    }
    return {"$schema": DIALECT, **schema}


def sweep_schema() -> dict[str, Any]:
    """The JSON Schema of sweep files (what :func:`simsme.experiments.sweep_spec.read_sweep_file`
    accepts before it checks the paths and values against the base scenario)."""
    from simsme.experiments.sweep_spec import SweepFile

    return {"$schema": DIALECT, **SweepFile.model_json_schema()}


def schema_text(kind: SchemaKind = "scenario") -> str:
    """The schema of ``kind`` as the text ``simsme schema`` prints and the package ships."""
    schema = scenario_schema() if kind == "scenario" else sweep_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped_schema(kind: SchemaKind = "scenario") -> str:
    """The text of the schema file shipped in the package."""
    return (resources.files("simsme") / "data" / SCHEMA_FILES[kind]).read_text("utf-8")
