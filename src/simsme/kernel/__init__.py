"""The fast engine: the model's phases as numba functions over flat arrays."""

from pathlib import Path

from simsme.kernel.cache import clear_stale_caches, kernel_sources

# The kernel's cached functions inline the mechanisms (simsme.mechanisms) too.
KERNEL_SOURCES = kernel_sources() + sorted(
    (Path(__file__).resolve().parent.parent / "mechanisms").glob("*.py")
)

# Before any cached function loads: drop machine code built from older sources (see cache.py).
clear_stale_caches(KERNEL_SOURCES)
