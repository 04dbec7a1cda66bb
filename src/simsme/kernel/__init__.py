"""The fast engine: the model's phases as numba functions over flat arrays."""

from simsme.kernel.cache import clear_stale_caches

# Before any cached function loads: drop machine code built from older sources (see cache.py).
clear_stale_caches()
