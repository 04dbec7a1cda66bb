"""The model's mechanisms, each written once and run by both engines.

A mechanism is one piece of the model's behaviour built from the rules of :mod:`simsme.rules`
(the awareness hazard, a channel's adoption, the choice of a focus area, an exchange over a
channel, a stage of an application, a programme's delivery, ...). Each is one numba function,
with its source cited in its docstring, in the module of its concept:

* :mod:`~simsme.mechanisms.population`: the population and network draw;
* :mod:`~simsme.mechanisms.events`: regulation and tax shocks;
* :mod:`~simsme.mechanisms.awareness`: programme information reaching SMEs;
* :mod:`~simsme.mechanisms.adoption`: digital channels taken up (Technology Acceptance Model);
* :mod:`~simsme.mechanisms.support`: who seeks support, the focus area and the agency an SME
  applies to;
* :mod:`~simsme.mechanisms.channels`: the channels an agency accepts, the preference order;
* :mod:`~simsme.mechanisms.exchange`: how long one exchange over a channel takes, waiting for
  a working channel;
* :mod:`~simsme.mechanisms.process`: the document / site-visit / committee stages and the
  agency's capacity queue;
* :mod:`~simsme.mechanisms.delivery`: a programme's delivery and co-creation;
* :mod:`~simsme.mechanisms.capabilities`: resources and the co-innovation path;
* :mod:`~simsme.mechanisms.export`: export orders, mode and markets;
* :mod:`~simsme.mechanisms.entry`: the firm's history and the decision to export under a sunk
  cost;
* :mod:`~simsme.mechanisms.procedures`: licences, certificates and permits obtained before a
  first export;
* :mod:`~simsme.mechanisms.draws`: the random draws they share;
* :mod:`~simsme.mechanisms.records`: not behaviour but bookkeeping, the record of an
  application's stages that both engines keep for ``applications.parquet``.

The numba kernel (:mod:`simsme.kernel.phases`) compiles and inlines them; the Mesa engine
(:mod:`simsme.model`) runs the same definitions in the interpreter
(:func:`simsme.mechanisms.python.as_python`). Mechanisms take plain numbers, bit masks and
one-dimensional arrays (or lists) and the replication's generator, never an engine's state, so
the same call serves both; the engines make the same draws in the same order. Nothing is
compiled on import: numba compiles a mechanism on its first compiled call.

The list of every mechanism with its one home is in ``docs/architecture.md``.
"""
