"""The fast engine: the model's phases as numba functions over flat arrays."""
