"""The documentation tells the truth about the program: the generated CLI reference lists exactly the
commands and options of the Typer app, the README stays a short user's page with the commands CI runs,
the layout tables name exactly the packages in src/geotally, and the default model has its card.

`mkdocs build --strict` (run by .ci/run) checks links, anchors and the navigation; these tests check
what a build cannot: that the pages match the code."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
HOOK = DOCS / "hooks" / "cli_reference.py"


def _hook():
    spec = importlib.util.spec_from_file_location("cli_reference_hook", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _click_tree():
    """{command path: (option flags, argument names)} walked from the app here, not by the hook."""
    import typer.main

    from geotally.cli import app

    if not hasattr(app, "registered_commands"):  # a cli package exposing its app module
        app = app.app
    tree = {}

    def walk(cmd, path, parent):
        ctx = cmd.context_class(cmd, info_name=path[-1], parent=parent)
        params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
        flags = {n for p in params if p.param_type_name == "option" for n in [*p.opts, *p.secondary_opts]}
        args = {p.metavar or p.name.upper() for p in params if p.param_type_name == "argument"}
        tree[" ".join(path)] = (flags, args)
        for name in getattr(cmd, "commands", {}) and cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if not getattr(sub, "hidden", False):
                walk(sub, path + (name,), ctx)

    walk(typer.main.get_command(app), ("geotally",), None)
    return tree


def _sections(markdown: str) -> dict[str, str]:
    """The generated page cut at its '## `geotally ...`' headings."""
    parts = re.split(r"^## `([^`]+)`.*$", markdown, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def _first_cells(section: str, kind: str) -> list[str]:
    """The first cell of every row of the section's table of arguments or options."""
    cells, inside = [], False
    for line in section.splitlines():
        if line.startswith(f"| {kind} |"):
            inside = True
            continue
        if inside and line.startswith("|---"):
            continue
        if inside and line.startswith("| `"):
            cells.append(line[2:].split("` |", 1)[0].strip("`").replace("\\|", "|"))
        elif inside:
            inside = False
    return cells


def test_cli_reference_lists_every_command_and_option():
    """The page the hook generates has one section per command of the app, and each section's options
    table names exactly that command's flags, and its arguments table its arguments."""
    pytest.importorskip("mkdocs")
    page = _hook().cli_markdown()
    sections = _sections(page)
    tree = _click_tree()
    assert set(sections) == set(tree)
    assert {"geotally count", "geotally recount", "geotally models list"} <= set(tree)
    for path, (flags, args) in tree.items():
        option_cells = _first_cells(sections[path], "option")
        listed = {f for cell in option_cells for f in re.findall(r"(?<![\w-])--?[A-Za-z][\w-]*", cell)}
        assert flags <= listed, (path, flags - listed)
        assert listed <= flags, (path, listed - flags)
        argument_cells = _first_cells(sections[path], "argument")
        assert len(argument_cells) == len(args), (path, argument_cells, args)
        for name in args:
            assert any(cell.lower().startswith(name.lower()) for cell in argument_cells), (path, name, argument_cells)


def test_cli_reference_page_is_filled_by_the_hook():
    """The page's marker is replaced on that page only, with the whole reference."""
    pytest.importorskip("mkdocs")
    hook = _hook()
    source = (DOCS / "reference" / "cli.md").read_text()
    assert hook.MARKER in source
    page = SimpleNamespace(file=SimpleNamespace(src_uri=hook.PAGE))
    built = hook.on_page_markdown(source, page=page, config=None, files=None)
    assert hook.MARKER not in built and "## `geotally count`" in built and "`--border" in built
    other = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    assert hook.on_page_markdown(source, page=other, config=None, files=None) == source


def test_readme_is_a_short_page_with_the_commands_ci_runs():
    """At most 300 lines, and the install, test and demo commands in it, the first two as .ci/run has them."""
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    ci = (ROOT / ".ci" / "run").read_text()
    for command in ("pip install .", 'pip install ".[dev]"', "python -m pytest -q"):
        assert command in text and command in ci, command
    assert 'pip install ".[dev]" && python -m pytest -q' in text
    assert re.search(r"^pip install \.$", ci, flags=re.M)
    for command in ("geotally demo", "geotally demo --scenario closure", "--border", "--sides", "--claim"):
        assert command in text, command


def _packages() -> set[str]:
    src = ROOT / "src" / "geotally"
    return {p.name for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists()}


@pytest.mark.parametrize("path", ["README.md", "docs/architecture.md"])
def test_layout_tables_name_exactly_the_packages(path):
    """The package tables of the README and the architecture page name every package under src/geotally
    and none that is gone (the layout moves; the pages must move with it)."""
    text = (ROOT / path).read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `") and "/`" in line.split("|")[1]]
    named = {m for row in rows for m in re.findall(r"`(\w+)/`", row.split("|")[1])}
    assert named == _packages(), (path, sorted(named ^ _packages()))


def test_default_model_has_its_card_in_the_nav():
    """The default model's card is a page of its own, in the navigation."""
    try:
        from geotally.config.defaults import DEFAULT_MODEL
    except ImportError:  # the defaults moved: the registry knows the default either way
        from geotally.models.registry import DEFAULT_MODEL
    card = DOCS / "models" / f"{DEFAULT_MODEL}.md"
    assert card.exists(), card
    assert f"models/{DEFAULT_MODEL}.md" in (ROOT / "mkdocs.yml").read_text()
    assert DEFAULT_MODEL in card.read_text().splitlines()[0]


def test_architecture_page_names_only_modules_that_exist():
    """Every `package/module.py` the architecture page points a reader to is where it says."""
    text = (DOCS / "architecture.md").read_text()
    src = ROOT / "src" / "geotally"
    named = set(re.findall(r"`((?:\w+/)+\w+\.(?:py|js))`", text))
    assert len(named) > 10
    missing = sorted(p for p in named if not (src / p).exists())
    assert not missing, missing
    for package, modules in re.findall(r"^\| `(\w+)/` \| [^|]* \| ([^|]*) \|$", text, flags=re.M):
        for module in re.findall(r"`(\w+\.(?:py|js))`", modules):
            assert (src / package / module).exists(), (package, module)


def _doc_pages() -> list[Path]:
    """Every page a user or contributor reads commands from."""
    pages = [README, ROOT / "CONTRIBUTING.md", ROOT / "CHANGES.md", ROOT / "benchmarks" / "README.md",
             ROOT / "scripts" / "README.md", *sorted(DOCS.rglob("*.md"))]
    return [p for p in pages if p.exists()]


def _imports_its_package(path: Path) -> bool:
    """A script that imports the benchmarks or scripts package runs only as `python -m PACKAGE.NAME`."""
    return bool(re.search(r"^\s*(from|import) (benchmarks|scripts)[. ]", path.read_text(), flags=re.M))


def test_benchmark_and_script_commands_run_as_written():
    """Every `python -m benchmarks.NAME` / `scripts.NAME` the pages give names a module that exists, every
    `python benchmarks/x.py` form names a file that still runs that way (most import their package, so
    they run only with -m), and every scripts/*.sh named exists (the candidate scripts were deleted)."""
    wrong = []
    for page in _doc_pages():
        text = page.read_text()
        for pkg, name in re.findall(r"python -m (benchmarks|scripts)\.([a-z0-9_]+)", text):
            if not (ROOT / pkg / f"{name}.py").exists():
                wrong.append((page.name, f"python -m {pkg}.{name}"))
        for rel in re.findall(r"python3?\s+((?:benchmarks|scripts)/[a-z0-9_]+\.py)", text):
            if not (ROOT / rel).exists() or _imports_its_package(ROOT / rel):
                wrong.append((page.name, f"python {rel}"))
        for rel in re.findall(r"scripts/[a-z0-9_]+\.sh", text):
            if not (ROOT / rel).exists():
                wrong.append((page.name, rel))
    assert not wrong, wrong


def test_every_benchmark_has_a_row_in_both_indexes():
    """Each script in benchmarks/ (not its shared modules) is a row of benchmarks/README.md and of the
    documentation's benchmarks page, named as `python -m benchmarks.NAME` runs it."""
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")} - {"__init__", "data", "runners"}
    for index in (ROOT / "benchmarks" / "README.md", DOCS / "benchmarks.md"):
        rows = set(re.findall(r"^\| `(\w+)` \|", index.read_text(), flags=re.M))
        assert scripts <= rows, (index.name, sorted(scripts - rows))


def test_architecture_page_shows_the_flow_and_where_things_are_made():
    """The data flow is drawn, and each row of the 'where things are made' table that names a module and a
    function or constant in it (`pkg/mod.py` (`name`)) points at a module that defines that name; the
    four things issue 31 asks a newcomer to find have their rows."""
    text = (DOCS / "architecture.md").read_text()
    assert "imagery → detect → geo → zones / roads / analysis → store → report" in text
    where = text.split("{ #where }", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in where.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    for thing in ("length", "queue rule", "default model", "report's HTML"):
        assert any(thing in row.split("|")[1] for row in rows), thing
    src = ROOT / "src" / "geotally"
    checked = 0
    for row in rows:
        for module, names in re.findall(r"`((?:\w+/)+\w+\.py)` \(([^)]*)\)", row):
            code = (src / module).read_text()
            for name in re.findall(r"`(\w+)`", names):
                assert re.search(rf"^(def|class) {name}\b|^{name}\s*[:=]", code, flags=re.M), (module, name)
                checked += 1
    assert checked >= 6, checked


def test_api_reference_lists_every_api_function():
    """The API page's table and its mkdocstrings block name every function geotally.api exports."""
    import inspect

    import geotally.api as api

    page = (DOCS / "reference" / "api.md").read_text()
    functions = [n for n in api.__all__ if inspect.isfunction(getattr(api, n))]
    assert "search" in functions
    members = re.search(r"members: \[([^\]]*)\]", page)
    listed = {m.strip() for m in members.group(1).split(",")} if members else set()
    for name in functions:
        assert f"#geotally.api.{name})" in page and name in listed, name
