"""The one user-facing error type: a mistake in the user's input, located precisely."""
from __future__ import annotations

from pathlib import Path

import click

from . import inert


class TfcardsWarning(UserWarning):
    """Warnings of our own; the test suite turns them into errors."""


class CardError(click.ClickException):
    """A user mistake at `file:line` in card `card_id`; click prints it without a traceback.

    Exit code 2 is the CLI's "bad input" code, distinct from 1 for failed cards.
    """

    exit_code = 2

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None,
                 card_id: str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.card_id = card_id
        self.plain = message
        super().__init__(self.format())

    def format(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{display_path(self.path)}:{self.line}: " if self.line else f"{display_path(self.path)}: "
        card = f"card '{self.card_id}': " if self.card_id else ""
        return f"{where}{card}{self.plain}"

    def __str__(self) -> str:
        return self.format()

    def show(self, file=None) -> None:
        click.echo(f"error: {inert.line(self.format())}", err=True, file=file)


class CardErrors(click.ClickException):
    """Several CardErrors found in one pass: all are reported together, one line each."""

    exit_code = 2

    def __init__(self, errors: list[CardError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.format() for e in errors))

    def show(self, file=None) -> None:  # one line each, no "Error:" prefix on every line
        for e in self.errors:
            click.echo(f"error: {inert.line(e.format())}", err=True, file=file)


def display_path(path: Path) -> str:
    """A path relative to the working directory when it is below it: shorter, clickable."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
