"""A live view of the Mesa engine: ``simsme view`` serves a Mesa SolaraViz page.

:mod:`simsme.viz.components` holds the page's parts (the SME network coloured by stage, agency
queues, the channel mix, the Kaplan-Meier curve of time to first export, the counts), made from a
running :class:`~simsme.model.SimsmeModel`; :mod:`simsme.viz.app` assembles them into a
``mesa.visualization.SolaraViz`` page with sliders for the policy levers of
:mod:`simsme.model.levers`; :mod:`simsme.viz.server` serves it. Needs the ``viz`` extra
(``pip install "simsme[viz]"``: solara and altair, through ``mesa[viz]``).
"""

import warnings

# Mesa 3.3.1's SolaraViz trips a Solara hook check on import (a hook after an early return in
# ComponentsView); it is Mesa's code and harmless, so keep it out of the server's log.
warnings.filterwarnings(
    "ignore", message=r".*`use_state` found despite early return", category=UserWarning
)
