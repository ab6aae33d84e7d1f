"""The options many commands share: the profile, --json, paging, --wide."""

from __future__ import annotations

from typing import Annotated

import typer

Profile = Annotated[str | None, typer.Option("--profile", "-p", help="Profile in the config file.")]
JsonOut = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON answer (errors too, on stdout) instead of a table.")
]
Cursor = Annotated[
    str | None, typer.Option("--cursor", help="Start at this page: the cursor the previous page printed.")
]
Wide = Annotated[bool, typer.Option("--wide", "-w", help="Every column (the table may be wider than the terminal).")]
Every = Annotated[bool, typer.Option("--all", help="Every page of the list, not one (the client follows the cursors).")]
