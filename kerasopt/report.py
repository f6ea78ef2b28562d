"""`report.html`: one self-contained page per run directory.

A page is a title and `Section`s. Figures are embedded as base64 PNG `data:` URIs and the style
is inline, so the page needs no other file; every text taken from the run is escaped.

Example:

>>> from kerasopt import report
>>> page = report.render("run", [report.Section("metrics", "Metrics", report.table([{"a": 1}]))])
>>> "<h2>Metrics</h2>" in page
True
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kerasopt import _io

__all__ = ["Section", "image", "table", "key_values", "preformatted", "render", "write_report"]

_STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: right; }
th { background: #f4f4f4; }
td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
p.note { color: #555; font-size: 0.92em; }
nav a { margin-right: 1em; }
"""


@dataclass
class Section:
    """One part of a report.

    Attributes:
        id: The HTML `id` of the section (a short slug: `metrics`, `baselines`, ...).
        heading: The visible heading.
        body: The section's HTML (build it with `table`, `image`, ...).
    """

    id: str
    heading: str
    body: str


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if value == value else "&ndash;"
    if isinstance(value, (dict, list)):
        return html.escape(json.dumps(value))
    return html.escape("" if value is None else str(value))


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Returns an HTML table of rows (dicts); floats shown with four decimals.

    Args:
        rows: The rows, each a mapping from column name to value.
        columns: Column order (default: the keys in order of first appearance).

    Returns:
        The HTML of the table.
    """
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def key_values(values: Mapping[str, Any]) -> str:
    """Returns a two-column HTML table of `name: value` pairs."""
    return table([{"name": k, "value": v} for k, v in values.items()], ["name", "value"])


def preformatted(text: str) -> str:
    """Returns `text` as an escaped `<pre>` block."""
    return f"<pre>{html.escape(text)}</pre>"


def image(source, alt: str) -> str:
    """Returns an `<img>` whose source is a base64 PNG `data:` URI.

    Args:
        source: A `matplotlib.figure.Figure`, or the path of a PNG file.
        alt: The alternative text.

    Returns:
        The HTML of the image.
    """
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            data = f.read()
    else:
        buffer = io.BytesIO()
        source.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        data = buffer.getvalue()
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def render(title: str, sections: Sequence[Section], subtitle: str | None = None) -> str:
    """Returns the page: a title, links to the sections, and the sections in order.

    Args:
        title: The page title.
        sections: The `Section`s.
        subtitle: An optional line under the title.

    Returns:
        The HTML document as text.
    """
    nav = " ".join(f'<a href="#{html.escape(s.id)}">{html.escape(s.heading)}</a>' for s in sections)
    parts = [f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.heading)}</h2>\n{s.body}\n</section>'
             for s in sections]
    sub = f'<p class="note">{html.escape(subtitle)}</p>' if subtitle else ""
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>{sub}\n<nav>{nav}</nav>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_report(path: str | os.PathLike, title: str, sections: Sequence[Section],
                 subtitle: str | None = None) -> str:
    """Writes `render(title, sections, subtitle)` to `path` atomically; returns the path."""
    _io.write_text(path, render(title, sections, subtitle))
    return os.fspath(path)
