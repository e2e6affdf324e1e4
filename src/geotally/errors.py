"""Errors that carry a message meant for the user (CLI exit code 2)."""


class GeotallyError(Exception):
    """A problem with the user's input or environment, stated in one line with what to fix."""
