"""MkDocs hook: the CLI reference page, generated from the Typer app at build time.

`docs/reference/cli.md` holds a marker; this hook replaces it with one section per command
(every group walked, `geotally models list` included): its help, its usage line, a table of its
arguments and a table of its options with their help and defaults. The page can therefore never
list a command or option the program lacks, nor miss one; `tests/test_docs.py` checks that
against the click command tree.
"""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any, Iterator

MARKER = "<!-- cli-reference -->"
PAGE = "reference/cli.md"
PROG = "geotally"


def load_app() -> Any:
    """The Typer app (`from geotally.cli import app`), whether cli is a module or a package."""
    from geotally.cli import app

    if isinstance(app, ModuleType):  # a cli/ package whose __init__ does not re-export it yet
        app = app.app
    return app


def root_command() -> Any:
    """The click command tree Typer builds from the app."""
    import typer.main

    return typer.main.get_command(load_app())


def walk(command: Any, path: tuple[str, ...] = (PROG,), parent: Any = None) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Yield (path, command, context) for the command and every visible subcommand, depth first."""
    ctx = command.context_class(command, info_name=path[-1], parent=parent)
    yield path, command, ctx
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or getattr(sub, "hidden", False):
            continue
        yield from walk(sub, path + (name,), ctx)


def anchor(path: tuple[str, ...]) -> str:
    """The heading id of a command's section, e.g. geotally-models-list."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in path)


def _text(text: str) -> str:
    """Help text made safe for one Markdown table cell: one line, no markup of its own."""
    s = " ".join(str(text).split())
    for ch in "\\`*_{}[]>|":  # Python-Markdown's escapable characters (and the tables' pipe)
        s = s.replace(ch, "\\" + ch)
    return s.replace("<", "&lt;")


def _code(text: str) -> str:
    """A name as a code span in a table cell (Python-Markdown's tables do not split cells at a pipe
    inside backticks, and an escape there would print as a backslash)."""
    return "`" + " ".join(str(text).split()) + "`"


def param_rows(command: Any, ctx: Any, kind: str) -> list[tuple[str, str]]:
    """(name with metavar, help with default) of the command's visible arguments or options.

    Uses click's help record, the pair `--help` prints, so the page says what the program says."""
    rows = []
    for param in command.get_params(ctx):
        if param.param_type_name != kind or getattr(param, "hidden", False):
            continue
        record = param.get_help_record(ctx)
        if record is None:  # an argument without help text
            record = (param.metavar or param.name.upper(), "")
        rows.append(record)
    return rows


def command_markdown(path: tuple[str, ...], command: Any, ctx: Any) -> str:
    """One command's section: heading, help, usage, arguments and options."""
    title = " ".join(path)
    lines = [f"## `{title}` {{ #{anchor(path)} }}", ""]
    help_text = (command.help or "").replace("\b\n", "").strip()
    if help_text:
        lines += [help_text, ""]
    pieces = " ".join(command.collect_usage_pieces(ctx))
    lines += ["```text", f"{title} {pieces}".rstrip(), "```", ""]
    for kind in ("argument", "option"):
        rows = param_rows(command, ctx, kind)
        if rows:
            lines += [f"| {kind} | help |", "|---|---|"]
            lines += [f"| {_code(name)} | {_text(text)} |" for name, text in rows]
            lines.append("")
    if getattr(command, "commands", None):
        names = [n for n in command.list_commands(ctx)
                 if not getattr(command.get_command(ctx, n), "hidden", False)]
        lines += ["Commands: " + ", ".join(f"[`{n}`](#{anchor(path + (n,))})" for n in names), ""]
    return "\n".join(lines)


def cli_markdown() -> str:
    """The whole reference: every command of the app, the root first."""
    return "\n".join(command_markdown(path, cmd, ctx) for path, cmd, ctx in walk(root_command()))


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """MkDocs event: fill the CLI reference page's marker with the generated reference."""
    if page.file.src_uri != PAGE or MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, cli_markdown())
