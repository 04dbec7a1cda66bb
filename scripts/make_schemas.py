"""Regenerate the JSON Schemas shipped in the package (src/simsme/data/*.schema.json).

Run after a change to the scenario or sweep models::

    .venv/bin/python scripts/make_schemas.py

Each file is exactly what ``simsme schema scenario`` / ``simsme schema sweep`` prints
(tests/test_conventions.py checks that they agree).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from simsme.schemas import SCHEMA_FILES, schema_text

DATA = Path(__file__).resolve().parents[1] / "src" / "simsme" / "data"


def main() -> None:
    for kind, name in SCHEMA_FILES.items():
        path = DATA / name
        text = schema_text(kind)  # type: ignore[arg-type]
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            print(f"{path.relative_to(DATA.parents[2])}: up to date")
            continue
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=DATA)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)  # atomic: an editor never reads half a schema
        print(f"wrote {path.relative_to(DATA.parents[2])}")


if __name__ == "__main__":
    main()
