"""The rules of :mod:`simsme.rules`, as the Mesa engine calls them.

Every rule is written once, in :mod:`simsme.rules`, as a numba function. Called from Python, a
compiled function first converts ("boxes") its arguments, which costs about a microsecond per
call, and about ten when a numpy ``Generator`` is passed: more than the arithmetic of any rule.
The Mesa engine therefore calls each rule's own Python definition, ``dispatcher.py_func``: the
same source text and the same formula as the kernel compiles, run by the interpreter (numba keeps
it on every dispatcher). Nothing here restates a formula; ``tests/test_mesa_model.py`` checks that
the Python and the compiled versions return the same numbers.

Import as ``from simsme.model import shared_rules as rules`` so that calls read exactly as in
:mod:`simsme.kernel.phases`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simsme import rules as _compiled


def python_definition(rule: Callable[..., Any]) -> Callable[..., Any]:
    """The Python function behind a numba dispatcher (the function itself if it is not one)."""
    return getattr(rule, "py_func", rule)


exchange_days = python_definition(_compiled.exchange_days)
choose_channel = python_definition(_compiled.choose_channel)
adoption_hazard = python_definition(_compiled.adoption_hazard)
missing_document_probability = python_definition(_compiled.missing_document_probability)
approval_probability = python_definition(_compiled.approval_probability)
next_committee_day = python_definition(_compiled.next_committee_day)
cocreation_probability = python_definition(_compiled.cocreation_probability)
programme_gain = python_definition(_compiled.programme_gain)
external_sourcing = python_definition(_compiled.external_sourcing)
coinnovation_target = python_definition(_compiled.coinnovation_target)
value_target = python_definition(_compiled.value_target)
export_propensity_target = python_definition(_compiled.export_propensity_target)
resource_drift = python_definition(_compiled.resource_drift)
opportunity_rate = python_definition(_compiled.opportunity_rate)
resource_index = python_definition(_compiled.resource_index)
direct_export_probability = python_definition(_compiled.direct_export_probability)
step_probability = python_definition(_compiled.step_probability)
focus_choice_weight = python_definition(_compiled.focus_choice_weight)

RULE_NAMES: tuple[str, ...] = (
    "exchange_days",
    "choose_channel",
    "adoption_hazard",
    "missing_document_probability",
    "approval_probability",
    "next_committee_day",
    "cocreation_probability",
    "programme_gain",
    "external_sourcing",
    "coinnovation_target",
    "value_target",
    "export_propensity_target",
    "resource_drift",
    "opportunity_rate",
    "resource_index",
    "direct_export_probability",
    "step_probability",
    "focus_choice_weight",
)
"""Every rule the Mesa engine uses (all of :mod:`simsme.rules` that the kernel's phases use)."""
