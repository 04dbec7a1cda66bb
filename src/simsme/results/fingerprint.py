"""The fingerprint of the code that produces results, and the structured keys of results folders.

A results folder is reused or resumed only when its key equals the key of the command run now.
The key holds the inputs (scenario or sweep hash, engine, options), the version of the output
definitions (:data:`simsme.outputs.OUTPUT_VERSION`) and :func:`code_fingerprint`: the package
version plus a hash of the source files that determine results (:data:`MODEL_SOURCES`). So a
rerun after a change to a rule, a mechanism, the kernel, the Mesa model, the lowering or the
outputs never returns the results of the old code.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import simsme

PACKAGE = Path(simsme.__file__).resolve().parent

MODEL_SOURCES = (
    "rules.py",
    "mechanisms",
    "kernel",
    "model",
    "scenario/lowering.py",
    "outputs.py",
    "results/summary.py",
)
"""Source files and packages (relative to the ``simsme`` package) whose code determines results.
Packages are hashed whole (every ``*.py`` below them); missing entries are skipped."""


@functools.cache
def source_hash() -> str:
    """SHA-256 of the model sources (:data:`MODEL_SOURCES`): file names and contents."""
    digest = hashlib.sha256()
    for entry in MODEL_SOURCES:
        path = PACKAGE / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.is_file() else []
        for file in files:
            digest.update(file.relative_to(PACKAGE).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def code_fingerprint() -> dict[str, str]:
    """The code that produces results: simsme's version and the hash of its model sources."""
    return {"simsme": simsme.__version__, "model_sources": source_hash()[:16]}


@functools.cache
def git_commit() -> dict[str, Any] | None:
    """The git commit of the checkout simsme runs from (and whether its sources are modified),
    or ``None`` when simsme is not run from a git work tree or git is missing. Never fails."""
    git = shutil.which("git")
    if git is None:
        return None

    def ask(*args: str) -> str | None:
        try:
            done = subprocess.run(
                [git, "-C", str(PACKAGE), *args],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    if ask("rev-parse", "--is-inside-work-tree") != "true":
        return None
    commit = ask("rev-parse", "HEAD")
    if not commit:
        return None
    status = ask("status", "--porcelain", "--", ".")
    return {"commit": commit, "modified": bool(status)}


def key_digest(key: dict[str, Any]) -> str:
    """A stable hash of a structured key (names default folders)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


KEY_FIELDS = {
    "kind": "they are the results of a {old}, not of a {new}",
    "scenario": "the scenario (hash {old} -> {new}: another scenario, seed or replications)",
    "engine": "the engine ({old} -> {new})",
    "sweep": "the sweep file or its base scenario changed (hash {old} -> {new})",
    "smes": "it was started {old_smes} --smes",
    "shard": "it was started with --shard {old}",
    "outputs": "it was written by another version of simsme, with other output definitions "
    "({old} -> {new})",
    "code": "it was written by other code (simsme {old_version}, model sources {old} -> {new}); "
    "results of other code are never reused or mixed",
}


def key_differences(old: Any, new: dict[str, Any]) -> list[str]:
    """Why a saved key differs from the key of this command, one reason per field."""
    if not isinstance(old, dict):
        return ["it was written by an earlier version of simsme, before folder keys were recorded"]
    reasons = []
    for field, text in KEY_FIELDS.items():
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if field == "code":
            a_d = a if isinstance(a, dict) else {}
            reasons.append(
                text.format(
                    old_version=a_d.get("simsme", "?"),
                    old=str(a_d.get("model_sources", "?"))[:8],
                    new=str(b.get("model_sources", "?"))[:8],
                )
            )
        elif field == "smes":
            reasons.append(text.format(old_smes="with" if a else "without"))
        else:
            short = (lambda v: str(v)[:8]) if field in ("scenario", "sweep") else str
            reasons.append(text.format(old=short(a), new=short(b)))
    for field in sorted(set(old) | set(new)):
        if field not in KEY_FIELDS and old.get(field) != new.get(field):
            reasons.append(f"{field} differs")
    return reasons
