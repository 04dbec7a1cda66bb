"""Experiments: single runs and parameter sweeps."""
