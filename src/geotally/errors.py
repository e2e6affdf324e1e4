"""Errors that carry a message meant for the user (CLI exit code 2)."""

from __future__ import annotations


class GeotallyError(Exception):
    """A problem with the user's input or environment, stated in one line with what to fix."""


def first_line(exc: BaseException, default: str | None = None) -> str:
    """The first line of an exception's message, for one-line errors (the type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else (default or type(exc).__name__)
