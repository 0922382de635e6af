"""HTML building blocks: escaping, tables, figures and the page shell (inline CSS, no JS).

Every piece of text goes through :func:`esc`; strings already built as HTML are marked
with :class:`Html` so they are not escaped twice.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Html(str):
    """A string that is already HTML (safe to insert as is); ``+`` escapes plain strings."""

    def __add__(self, other: object) -> Html:
        return Html(str.__add__(self, esc(other)))

    def __radd__(self, other: object) -> Html:
        return Html(str.__add__(esc(other), self))


@dataclass(frozen=True)
class Block:
    """One titled part of a cohort's section (a table, a figure, ...)."""

    key: str
    heading: str
    body: Html


def esc(value: object) -> Html:
    """``value`` as escaped HTML text (Html values pass through unchanged)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def tag(name: str, content: object = "", **attrs: str) -> Html:
    """``<name attrs>content</name>`` with escaped attributes (``class_`` for ``class``)."""
    rendered = "".join(f' {k.rstrip("_").replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return Html(f"<{name}{rendered}>{esc(content)}</{name}>")


def join(parts: Iterable[object], sep: str = "") -> Html:
    """Concatenate escaped parts."""
    return Html(sep.join(esc(p) for p in parts))


def paragraph(text: object, class_: str = "note") -> Html:
    """A short explanatory paragraph."""
    return tag("p", text, class_=class_)


def table(header: Sequence[object], rows: Sequence[Sequence[object]], numeric_from: int = 1,
          class_: str = "data") -> Html:
    """A table; columns from ``numeric_from`` on are right-aligned."""
    head = join(tag("th", h, class_="num" if i >= numeric_from else "txt") for i, h in enumerate(header))
    body = join(
        tag("tr", join(tag("td", c, class_="num" if i >= numeric_from else "txt") for i, c in enumerate(row)))
        for row in rows
    )
    return Html(f'<div class="scroll"><table class="{esc(class_)}"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table></div>")


def figure(uri: str, alt: str, caption: object) -> Html:
    """An embedded image (a ``data:`` URI) with its caption."""
    return Html(f'<figure><img src="{esc(uri)}" alt="{esc(alt)}">'
                f"<figcaption>{esc(caption)}</figcaption></figure>")


def swatch(colour: str) -> Html:
    """A small coloured square (the method's colour in the plots)."""
    return Html(f'<span class="swatch" style="background:{esc(colour)}"></span>')


def facts(items: Sequence[tuple[str, object]]) -> Html:
    """A compact definition list of ``(label, value)``."""
    if not items:
        return Html("")
    return tag("dl", join(tag("dt", k) + tag("dd", v) for k, v in items), class_="facts")


CSS = """
:root { --ink:#1d2733; --muted:#5b6675; --rule:#d9dee5; --accent:#1f5f99; --tint:#f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); background: #fff; }
header.top { background: var(--accent); color: #fff; padding: 18px 32px; }
header.top h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header.top p { margin: 0; opacity: .9; font-size: 13px; }
main { max-width: 1200px; margin: 0 auto; padding: 12px 32px 48px; }
nav.toc { background: var(--tint); border: 1px solid var(--rule); border-radius: 6px; padding: 10px 18px;
          margin: 16px 0; font-size: 14px; }
nav.toc h2 { font-size: 15px; margin: 0 0 4px; border: 0; padding: 0; }
nav.toc ul { margin: 2px 0; padding-left: 20px; }
nav.toc ul.blocks { padding-left: 0; margin: 0 0 4px; }
nav.toc ul.blocks li { display: inline; }
nav.toc ul.blocks li + li::before { content: " · "; color: var(--muted); }
nav.toc a { color: var(--accent); text-decoration: none; }
section.cohort { margin-top: 28px; }
section.cohort > h2 { font-size: 22px; border-bottom: 2px solid var(--accent); padding-bottom: 4px; }
section.block { margin: 22px 0 30px; }
section.block > h3 { font-size: 18px; margin: 0 0 6px; color: var(--accent); }
p.note { color: var(--muted); font-size: 13.5px; margin: 4px 0 10px; max-width: 900px; }
p.truth { background: #fff7e0; border-left: 4px solid #e0a800; padding: 6px 12px; font-size: 14px; }
figure { margin: 8px 0 14px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--rule); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; max-width: 900px; margin-top: 4px; }
div.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
div.row figure { flex: 0 1 auto; max-width: 560px; }
div.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 13.5px; margin: 6px 0; }
table.data th, table.data td { padding: 5px 10px; border-bottom: 1px solid var(--rule); vertical-align: top; }
table.data th { background: var(--tint); font-weight: 600; text-align: left; white-space: nowrap; }
table.data th.num, table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tbody tr:nth-child(even) { background: #fafbfc; }
table.data small { color: var(--muted); white-space: nowrap; }
span.swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 6px;
              vertical-align: baseline; }
span.kind { color: var(--muted); font-size: 12px; margin-left: 4px; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; font-size: 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 16px; }
"""


def page(title: str, subtitle: str, toc: Html, body: Html) -> str:
    """The whole self-contained document."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f"<style>{CSS}</style></head><body>"
        f'<header class="top"><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>'
        f"<main>{toc}{body}</main>"
        f"<footer>{esc(subtitle)}</footer></body></html>\n"
    )
