"""simsme: agent-based simulation of SME-agency ecosystems and time to first export."""

__version__ = "0.1.0"
"""The one place the version is written: pyproject.toml reads it (``[tool.setuptools.dynamic]``)
and ``simsme --version``, manifests and CITATION.cff's release follow it."""
