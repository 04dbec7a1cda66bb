"""Regenerate the figures that README.md shows, into docs/figures/ (tracked files).

README's own commands write only into results/, so following them leaves ``git status`` clean;
this script is how the committed figures are remade after a change to the model::

    .venv/bin/python scripts/make_figures.py

It runs the scenarios the figures come from into results/ (a rerun reuses finished results of
the same scenario, seed and code), then draws each figure into docs/figures/ with the commands a
reader would use. Exit code 0 when every figure in :data:`FIGURES` was written.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUNS: dict[str, str] = {
    "conventional-agencies": "scenarios/conventional-agencies.yaml",
    "digital-agencies": "scenarios/digital-agencies.yaml",
    "baseline": "scenarios/baseline.yaml",
}
"""Results folder name under results/ -> scenario the figures need."""

FIGURES: dict[str, list[str]] = {
    "survival_conventional-agencies_vs_digital-agencies.png": [
        "compare",
        "results/conventional-agencies",
        "results/digital-agencies",
    ],
    "ensemble_conventional-agencies_vs_digital-agencies.png": [
        "compare",
        "scenarios/conventional-agencies.yaml",
        "scenarios/digital-agencies.yaml",
        "--ensemble",
        "default",
    ],
    "survival_by_size_class.png": [
        "plot",
        "results/baseline",
        "--only",
        "survival_by_size_class",
        "--quiet",
    ],
}
"""File in docs/figures/ -> the simsme command (less ``--out``) that draws it."""

SCREENSHOTS: dict[str, list[str]] = {
    "view.png": ["tests/test_view_browser.py"],
}
"""File in docs/figures/ -> the script (run with this Python) that takes it in headless Chromium:
``simsme view`` on the baseline, played for 400 steps. Skipped with a note without Chromium."""


def simsme(args: list[str]) -> None:
    """Run one simsme command in this process; stop the script if it fails."""
    from simsme.cli import main

    print("+ simsme " + " ".join(args), flush=True)
    code = main(args)
    if code != 0:
        sys.exit(f"make_figures: 'simsme {' '.join(args)}' failed with exit code {code}")


def make_figures(out: Path, runs: Path) -> list[Path]:
    """Run the scenarios into ``runs`` and draw every figure of :data:`FIGURES` into ``out``."""
    for name, scenario in RUNS.items():
        simsme(["run", scenario, "--out", str(runs / name), "--quiet"])
    written = []
    for file, command in FIGURES.items():
        args = [
            str(runs / a.removeprefix("results/")) if a.startswith("results/") else a
            for a in command
        ]
        simsme([*args, "--out", str(out)])
        path = out / file
        if not path.is_file():
            sys.exit(f"make_figures: '{' '.join(command)}' did not write {path}")
        written.append(path)
    for file, script in SCREENSHOTS.items():
        if shutil.which("chromium") is None:
            print(f"make_figures: no chromium on PATH, {file} not remade", file=sys.stderr)
            continue
        path = out / file
        subprocess.run([sys.executable, *script, str(path)], check=True)
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="figure folder (default docs/figures)")
    parser.add_argument("--runs", type=Path, help="folder for the runs (default results)")
    options = parser.parse_args()
    out = options.out.resolve() if options.out else Path("docs/figures")
    runs = options.runs.resolve() if options.runs else Path("results")
    os.chdir(ROOT)  # the scenario paths and the defaults are relative to the repository
    for path in make_figures(out, runs):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
