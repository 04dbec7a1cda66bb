"""simsme: agent-based simulation of SME-agency ecosystems and time to first export."""

__version__ = "0.1.0"
