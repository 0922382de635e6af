"""HTML through Jinja2 templates (package data in ``templates/``), with autoescaping on.

Renderers hand plain values to a template and get :class:`markupsafe.Markup` back; every
value a template prints is escaped unless it is already Markup (a rendered block or
figure), so a hostile name in a document (a modality called ``<script>``) shows as text.
The page stays one self-contained file: the stylesheet is included inline and figures are
``data:`` URIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@dataclass(frozen=True)
class Block:
    """One titled part of a cohort's section (a table, a figure, ...)."""

    key: str
    heading: str
    body: Markup


@dataclass(frozen=True)
class Plot:
    """A figure to embed: the image (a ``data:`` URI), its alternative text and caption."""

    uri: str
    alt: str
    caption: str


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The report's template environment (autoescaping on; an undefined name is an error)."""
    return Environment(
        loader=PackageLoader("omnifuse.evaluation.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, **context: Any) -> Markup:
    """``template`` (a file in ``templates/``) rendered with ``context``."""
    return Markup(environment().get_template(template).render(**context))


def figure(uri: str, alt: str, caption: str) -> Markup:
    """One embedded figure with its caption."""
    return figures([Plot(uri, alt, caption)])


def figures(items: list[Plot], row: bool = False) -> Markup:
    """Several figures, one under the other (``row``: side by side where the page is wide)."""
    return render("figures.html.j2", figures=items, row=row)
