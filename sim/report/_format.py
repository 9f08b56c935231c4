"""Formatting shared by the views: virtual seconds as text, HTML escaping, tables, styles.

Used by the report page (:mod:`asyncsim.report.page`), its lanes section
(:mod:`asyncsim.report.lanes`), the demo index (:mod:`asyncsim.report.demo_index`)
and the sweep report (:mod:`asyncsim.sweeps.report`). Seconds as numbers come from
:func:`asyncsim.clock.to_seconds`.
"""

from __future__ import annotations

import html
from collections.abc import Collection, Sequence

from asyncsim.trace.text import exact_seconds

__all__ = [
    "REPORT_CSS",
    "SWEEP_CSS",
    "escape",
    "markup_table",
    "page_head",
    "seconds_text",
    "table",
]

#: The style of the report page and the demo index.
REPORT_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;border-bottom:1px solid #eee;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #ddd}
.err{background:#fdecea;border:1px solid #d62728;padding:.6em 1em}
pre{white-space:pre-wrap}code{font-size:12px}.muted{color:#777}
"""

#: The style of the sweep report (numbers right-aligned in ruled tables).
SWEEP_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:1em 0;font-size:14px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3} td:first-child,th:first-child{text-align:left}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
pre{background:#f7f7f7;padding:.5em;overflow:auto;text-align:left}
.note{color:#885500}
"""


def escape(value: object) -> str:
    """``str(value)`` with ``&``, ``<``, ``>`` and quotes escaped for HTML."""
    return html.escape(str(value), quote=True)


def seconds_text(ticks: int | None) -> str:
    """``ticks`` as exact virtual seconds ("" for None): a point in time in a table."""
    return "" if ticks is None else exact_seconds(ticks)


def page_head(title: str) -> str:
    """The start of a report page up to ``<body>``; ``title`` is plain text."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style></head><body>"
    )


def table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], numeric: Collection[int] = ()
) -> str:
    """An HTML table of plain values (escaped); columns in ``numeric`` align right.

    No header row when ``headers`` is empty.
    """
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    head = f"<tr>{head}</tr>" if headers else ""
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(v)}</td>' if i in numeric else f"<td>{escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table>{head}{body}</table>"


def markup_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table with a head and a body whose cells are HTML already (not escaped)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
