"""Results folders: atomic writes, resumable chunks."""
