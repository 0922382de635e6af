"""``omnifuse models``: the registered models."""

from __future__ import annotations

import json

import typer
from rich.table import Column, Table

from omnifuse.cli.common import app, console


@app.command("models")
def models(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the registered models: name, kind (fusion/strategy/baseline/model), paper."""
    from omnifuse.models import all_models  # deferred: keeps `omnifuse --help` fast (torch, scikit-learn)

    entries = [e.to_dict() for e in all_models()]
    if as_json:
        console.print_json(json.dumps(entries))
        return
    table = Table(
        Column("name", no_wrap=True),
        "kind",
        Column("paper", overflow="fold"),
        Column("description", overflow="fold"),
        title="registered models",
    )  # long words fold, never "…"
    for e in entries:
        table.add_row(e["name"], e["kind"], e["paper"], e["description"])
    console.print(table)
