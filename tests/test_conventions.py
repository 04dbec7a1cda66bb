"""Project conventions: the JSON Schemas describe what the loaders accept and ship with the
package, command-line choices are listed and checked, ``--help`` imports no numerical library,
every imported package is declared (and every declared one used), internals are pinned, one
version source, citation and changelog, and README's commands write only into results/."""

from __future__ import annotations

import ast
import datetime as dt
import functools
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml

from simsme import __version__
from simsme.cli import choices, main
from simsme.errors import ScenarioError
from simsme.scenario import validate_scenario
from simsme.schemas import SCHEMA_FILES, shipped_schema

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
SWEEPS = sorted((ROOT / "scenarios" / "sweeps").glob("*.yaml"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DATA = ROOT / "src" / "simsme" / "data"
REGENERATE = ".venv/bin/python scripts/make_schemas.py"


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def as_json(data: object) -> object:
    """YAML as an editor's schema checker sees it: dates are ISO text, as in JSON."""
    return json.loads(json.dumps(data, default=lambda v: v.isoformat()))


def printed_schema(kind: str, capsys: pytest.CaptureFixture[str]) -> dict:
    code, text = cli(["schema", kind], capsys)
    assert code == 0, text
    return json.loads(text)


# --------------------------------------------------------------------------------------------
# JSON Schemas
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_schema("scenario"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("kind", sorted(SCHEMA_FILES))
def test_shipped_schema_is_what_simsme_schema_prints(kind, capsys):
    code, printed = cli(["schema", kind], capsys)
    assert code == 0
    assert shipped_schema(kind) == printed, (
        f"src/simsme/data/{SCHEMA_FILES[kind]} is out of date; regenerate with: {REGENERATE}"
    )
    schema = json.loads(printed)
    jsonschema.Draft202012Validator.check_schema(schema)  # a valid JSON Schema itself
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_scenario_schema_is_the_default_of_simsme_schema(capsys):
    code, printed = cli(["schema"], capsys)
    assert code == 0 and printed == shipped_schema("scenario")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_shipped_scenarios_match_the_printed_schema(path, capsys):
    validator = jsonschema.Draft202012Validator(printed_schema("scenario", capsys))
    data = as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert problems == []


@pytest.mark.parametrize("path", SWEEPS, ids=lambda p: p.name)
def test_shipped_sweeps_match_the_printed_sweep_schema(path, capsys):
    validator = jsonschema.Draft202012Validator(printed_schema("sweep", capsys))
    data = as_json(yaml.safe_load(path.read_text(encoding="utf-8")))
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert problems == []


@pytest.mark.parametrize(
    "text, accepted",
    [
        ("channels: {whatsapp: {usefulness: 0.0}}", True),  # a built-in channel, in part
        ("channels: {web_portal: {latency: {sigma: 0.2}}}", True),
        ("channels: {pigeon: {kind: digital, latency: {median_days: 2}}}", True),  # a new one
        ("channels: {pigeon: {usefulness: 0.5}}", False),  # a new channel needs kind, latency
        ("channels: {whatsapp: {kind: telepathy}}", False),
        ("channels: {whatsapp: {colour: green}}", False),
        ("population: {n_sme: 10}", False),
        ("population: {n_smes: 0}", False),
        ("time: {start_date: 2001-02-03, horizon_years: 2}", True),
        ("seed: 7\nreplications: 3", True),
    ],
)
def test_schema_and_loader_agree(text, accepted, scenario_validator):
    """The schema accepts what the loader accepts and refuses what it refuses (field by field;
    cross-field checks such as shares summing to one are the loader's alone)."""
    raw = yaml.safe_load(text)
    try:
        validate_scenario(raw)
        loader_accepts = True
    except ScenarioError:
        loader_accepts = False
    schema_accepts = scenario_validator.is_valid(as_json(raw))
    assert (loader_accepts, schema_accepts) == (accepted, accepted)


@pytest.mark.parametrize(
    "path, kind",
    [(p, "scenario") for p in SCENARIOS] + [(p, "sweep") for p in SWEEPS],
    ids=lambda v: v.name if isinstance(v, Path) else v,
)
def test_files_point_editors_at_the_shipped_schema(path, kind):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, f"{path.name}: first line is not a yaml-language-server modeline: {first!r}"
    target = (path.parent / match.group(1)).resolve()
    assert target == (DATA / SCHEMA_FILES[kind]).resolve()


def test_schemas_are_package_data():
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["simsme"]
    assert "data/*.json" in patterns
    assert {p.name for p in DATA.glob("*.json")} >= set(SCHEMA_FILES.values())


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------
def command_names() -> list[str]:
    from typer.main import get_command

    from simsme.cli import app

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "command, listed",
    [
        ("run", "<kernel|mesa>"),
        ("sweep", "<local|dask>"),
        ("plot", "<png|svg|pdf>"),
        ("compare", "<auto|replication|sme>"),
        ("schema", "scenario|sweep"),
    ],
)
def test_help_lists_the_choices(command, listed, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, text = cli([command, "--help"], capsys)
    assert code == 0 and listed in text


def test_help_shows_no_bool_or_str_for_choices_and_flags(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    for command in [None, *command_names()]:
        code, text = cli([command, "--help"] if command else ["--help"], capsys)
        assert code == 0
        assert "<bool>" not in text, f"simsme {command} --help shows <bool>"
        for option in ("--engine", "--executor", "--format", "--by", "--cluster"):
            assert not re.search(rf"{option}\s+(-\w\s+)?<str>", text), f"{command} {option}"


@pytest.mark.parametrize(
    "args, option",
    [
        (["run", "scenarios/baseline.yaml", "--engine", "gpu"], "--engine"),
        (["sweep", "x.yaml", "--executor", "slurm"], "--executor"),
        (["plot", "results", "--format", "gif"], "--format"),
        (["plot", "results", "--by", "colour"], "--by"),
        (["plot", "results", "--only", "everything"], "--only"),
        (["compare", "a", "b", "--cluster", "agency"], "--cluster"),
        (["schema", "campaign"], "campaign"),
    ],
)
def test_a_value_outside_the_choices_is_a_usage_error(args, option, capsys):
    code, text = cli(args, capsys)
    assert code == 2 and option in text and "Traceback" not in text


def test_choices_agree_with_the_library():
    from simsme.analysis.survival import GROUPINGS
    from simsme.calibration.abc import BANDWIDTHS
    from simsme.experiments.run import ENGINES
    from simsme.experiments.sweep_exec import EXECUTORS
    from simsme.plots.run import figure_names
    from simsme.plots.style import FORMATS
    from simsme.plots.sweep import SWEEP_FIGURES

    assert list(choices.Engine) == list(ENGINES)
    assert list(choices.Executor) == list(EXECUTORS)
    assert list(choices.ImageFormat) == list(FORMATS)
    groupings = [g for g in GROUPINGS if g != "scenario"]
    assert list(choices.Grouping) == groupings
    figures = dict.fromkeys(n for g in groupings for n in figure_names(g))
    assert set(choices.Figure) == set(figures) | set(SWEEP_FIGURES)
    assert list(choices.SchemaKind) == list(SCHEMA_FILES)
    assert list(choices.Bandwidth) == list(BANDWIDTHS)


HEAVY = (
    "numpy",
    "numba",
    "llvmlite",
    "pandas",
    "pyarrow",
    "scipy",
    "statsmodels",
    "SALib",
    "matplotlib",
    "mesa",
    "dask",
    "networkx",
    "solara",
    "simsme.kernel",
    "simsme.model",
)

HELP_PROBE = """
import contextlib, io, json, sys
from typer.main import get_command
from simsme.cli import app, main
for name in [None, *get_command(app).commands]:
    with contextlib.redirect_stdout(io.StringIO()):
        main([name, "--help"] if name else ["--help"])
print(json.dumps(sorted(set(sys.modules))))
"""


def test_help_imports_no_numerical_library():
    """``simsme --help`` (and each command's) stays fast because the commands import the
    engines, pandas and matplotlib only when they run (measured on 2 busy cores: 4.7 s before, 0.7 s after)."""
    done = subprocess.run(
        [sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"--help imports {heavy[:10]}: import them inside the command"


# --------------------------------------------------------------------------------------------
# Dependencies
# --------------------------------------------------------------------------------------------
def requirement_names(requirements: list[str], expand: bool = True) -> set[str]:
    """Normalised distribution names, with what a requested extra brings (``expand``):
    ``dask[distributed]`` is dask and distributed, ``mesa[viz]`` mesa and its viz extra's."""
    names = set()
    for req in requirements:
        match = re.match(r"\s*([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?", req)
        assert match, req
        names.add(normalise(match.group(1)))
        if not expand:
            continue
        for extra in (e.strip() for e in (match.group(2) or "").split(",") if e.strip()):
            names |= extra_requirements(match.group(1), extra)
    return names


def extra_requirements(distribution: str, extra: str) -> set[str]:
    """The distributions that ``distribution[extra]`` adds (from its installed metadata, or
    from pyproject.toml for simsme itself)."""
    if normalise(distribution) == "simsme":
        return requirement_names(PYPROJECT["project"]["optional-dependencies"][extra])
    try:
        requires = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return set()
    marker = re.compile(rf"extra\s*==\s*['\"]{re.escape(extra)}['\"]")
    return {
        normalise(re.match(r"\s*([A-Za-z0-9._-]+)", r).group(1))  # type: ignore[union-attr]
        for r in requires
        if marker.search(r)
    }


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_names(folder: Path, local: set[str]) -> dict[str, Path]:
    """Top-level third-party modules imported by the files under ``folder`` (one file each)."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", None) == "importorskip"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                names = [str(node.args[0].value)]
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, path)
    return found


@functools.cache
def _module_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def distributions(module: str) -> set[str]:
    """Distributions that provide the top-level module ``module`` (``yaml``: pyyaml), and the
    module's own name (``solara`` is a distribution whose module comes from ``solara-ui``)."""
    return {normalise(d) for d in _module_distributions().get(module, [])} | {normalise(module)}


RUNTIME = requirement_names(PYPROJECT["project"]["dependencies"])
EXTRAS = {k: requirement_names(v) for k, v in PYPROJECT["project"]["optional-dependencies"].items()}
NOT_IMPORTED = {
    "ipykernel": "the kernel nbclient runs the tutorial notebook in (tests/test_notebook.py)",
    "ruff": "the linter (a tool, not a library)",
    "dask": "the test suite runs sweeps with --executor dask (simsme imports distributed)",
    "distributed": "idem",
    "simsme": "the package itself with an extra (simsme[viz])",
}


def test_every_package_src_imports_is_declared():
    """In the dependencies, or in the extra of an optional feature (dask, the live view)."""
    declared = RUNTIME.union(*(names for extra, names in EXTRAS.items() if extra != "test"))
    missing = {
        module: str(path.relative_to(ROOT))
        for module, path in imported_names(ROOT / "src", {"simsme"}).items()
        if not distributions(module) & declared
    }
    assert missing == {}, "imported but not in pyproject.toml's dependencies"


def test_every_package_tests_import_is_declared():
    local = {p.stem for p in (ROOT / "tests").glob("*.py")} | {"simsme"}
    local |= {p.stem for p in (ROOT / "benchmarks").glob("*.py")}
    declared = RUNTIME | EXTRAS["test"]
    missing = {
        module: str(path.relative_to(ROOT))
        for module, path in imported_names(ROOT / "tests", local).items()
        if not distributions(module) & declared
    }
    assert missing == {}, "imported by tests but not in the test extra or the dependencies"


def test_every_declared_package_is_imported():
    src = {d for m in imported_names(ROOT / "src", {"simsme"}) for d in distributions(m)}
    local = {p.stem for p in (ROOT / "tests").glob("*.py")} | {"simsme"}
    tests = {d for m in imported_names(ROOT / "tests", local) for d in distributions(m)}
    unused_runtime = sorted(RUNTIME - src)
    test_extra = requirement_names(PYPROJECT["project"]["optional-dependencies"]["test"], False)
    unused_test = sorted(test_extra - tests - src - set(NOT_IMPORTED))
    assert unused_runtime == [] and unused_test == []


def upper_bound(requirement: str) -> tuple[int, ...] | None:
    match = re.search(r"<\s*([0-9][0-9.]*)", requirement)
    return tuple(int(x) for x in match.group(1).split(".")) if match else None


@pytest.mark.parametrize("package", ["numpy", "numba", "llvmlite"])
def test_private_internals_are_bounded_by_an_upper_pin(package):
    """The kernel uses numpy's PCG64 state layout, numba's ``_nrt`` option and its cache
    locator (checked at start: kernel.pcg64.check_uniform, kernel.phases._nrt_option,
    kernel.cache.cache_dirs); a release past the pin must be tried before it is allowed."""
    (requirement,) = [
        r for r in PYPROJECT["project"]["dependencies"] if normalise(r).startswith(package)
    ]
    bound = upper_bound(requirement)
    assert bound is not None, f"{requirement}: no upper bound"
    release = re.match(r"[0-9.]+", importlib.metadata.version(package)).group(0)  # type: ignore[union-attr]
    installed = tuple(int(x) for x in release.strip(".").split("."))
    assert installed < bound, f"installed {package} {installed} is past the pin {requirement}"


# --------------------------------------------------------------------------------------------
# Version, citation, changelog
# --------------------------------------------------------------------------------------------
def test_one_version_source(capsys):
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "simsme.__version__"}
    code, text = cli(["--version"], capsys)
    assert code == 0 and text.strip() == f"simsme {__version__}"
    assert importlib.metadata.version("simsme") == __version__, "reinstall: pip install -e ."


def test_citation_file():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert {"message", "title", "authors"} <= set(cff)
    assert cff["authors"] == [{"name": "The simsme developers"}]
    assert str(cff["version"]) == __version__
    titles = [r["title"] for r in cff["references"]]
    assert len(titles) == 4 and all(r["authors"] for r in cff["references"])
    assert "Embracing Digital Interactive Platforms for Rapid Internationalization" in titles
    for ref in cff["references"]:
        assert {"type", "title", "authors"} <= set(ref)
        assert re.search(r"\d{3}_[0-9a-f]{16}\.txt", ref["notes"])  # the stored source


def test_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$", text, re.M)
    assert headings[0] == ("Unreleased", "")
    released = {version: date for version, date in headings[1:]}
    assert __version__ in released, f"CHANGELOG.md has no section for {__version__}"
    for date in released.values():
        dt.date.fromisoformat(date)


# --------------------------------------------------------------------------------------------
# README's commands leave git status clean
# --------------------------------------------------------------------------------------------
def readme_commands() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    lines = [line.strip() for block in blocks for line in block.splitlines()]
    return [line.split() for line in lines if re.match(r"(\.venv/bin/)?simsme ", line)]


def test_readme_commands_write_only_into_results():
    for tokens in readme_commands():
        command = tokens[1]
        if "--out" in tokens:
            out = tokens[tokens.index("--out") + 1]
            assert out.startswith("results/"), f"README: {' '.join(tokens)} writes into {out}"
        else:
            # compare writes its figure into the current folder unless told otherwise
            assert command != "compare", f"README: {' '.join(tokens)} needs --out results/..."


def test_make_figures_draws_every_figure_readme_shows():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = set(re.findall(r"\]\(docs/figures/([^)]+)\)", readme))
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "scripts/make_figures.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert shown and shown <= set(module.FIGURES) | set(module.SCREENSHOTS)
    for command in module.FIGURES.values():
        assert "--out" not in command  # the script sends every figure to docs/figures
