"""The one error type a user should ever see from our CLIs.

Anything the user can fix (bad path, malformed file, wrong flag combination)
raises `UserError`; `aesthetic.core.cli.run` prints its message and exits 2.
Everything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, explained in plain words."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  hint: {self.hint}" if self.hint else text


def located(path: object, line: int | None, message: str, *, hint: str | None = None) -> UserError:
    """A UserError pointing at `path:line`, the form editors and humans both follow."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    return UserError(f"{where}: {message}", hint=hint)
