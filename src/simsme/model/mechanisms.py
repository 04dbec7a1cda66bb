"""The mechanisms as the Mesa agents call them.

Each mechanism is written once, as a numba function in :mod:`simsme.mechanisms` (the rules in
:mod:`simsme.rules`); the numba kernel compiles them, and the agents here run the same
definitions in the interpreter (:func:`simsme.mechanisms.python.as_python`: calling compiled code
from Python would cost more in argument conversion than the arithmetic). Import as
``from simsme.model.mechanisms import adoption`` so that calls read as in the kernel's phases.
Nothing here compiles anything.
"""

from __future__ import annotations

from simsme import rules as _rules
from simsme.mechanisms import adoption as _adoption
from simsme.mechanisms import awareness as _awareness
from simsme.mechanisms import capabilities as _capabilities
from simsme.mechanisms import delivery as _delivery
from simsme.mechanisms import draws as _draws
from simsme.mechanisms import entry as _entry
from simsme.mechanisms import events as _events
from simsme.mechanisms import exchange as _exchange
from simsme.mechanisms import export as _export
from simsme.mechanisms import population as _population
from simsme.mechanisms import procedures as _procedures
from simsme.mechanisms import process as _process
from simsme.mechanisms import records as _records
from simsme.mechanisms import support as _support
from simsme.mechanisms.python import as_python

rules = as_python(_rules)
adoption = as_python(_adoption)
awareness = as_python(_awareness)
capabilities = as_python(_capabilities)
delivery = as_python(_delivery)
draws = as_python(_draws)
entry = as_python(_entry)
exchange = as_python(_exchange)
events = as_python(_events)
export = as_python(_export)
population = as_python(_population)
procedures = as_python(_procedures)
process = as_python(_process)
records = as_python(_records)
support = as_python(_support)
