"""The index page of ``asyncsim demo``: one entry per replayed program, with its timeline."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncsim.report._format import escape, href, page_head

__all__ = ["DemoEntry", "write_demo_index"]


@dataclass(frozen=True)
class DemoEntry:
    """One program of ``asyncsim demo``: its folder name, summary line and status."""

    name: str
    summary: str
    ok: bool


def write_demo_index(root: str | os.PathLike[str], entries: Sequence[DemoEntry]) -> Path:
    """Write ``root/index.html`` linking each entry's report folder; returns its path."""
    items = "".join(
        f'<li><a href="{href(e.name + "/index.html")}">{escape(e.name)}</a> '
        f'<span class="{"" if e.ok else "err"}">{escape(e.summary)}</span><br>'
        f'<a href="{href(e.name + "/index.html")}"><img alt="timeline of {escape(e.name)}" '
        f'src="{href(e.name + "/timeline.png")}" style="max-width:560px"></a></li>'
        for e in entries
    )
    page = (
        page_head("asyncsim demo")
        + "<h1>asyncsim demo: the classic asyncio programs on virtual time</h1>"
        + f"<ul>{items}</ul></body></html>\n"
    )
    index = Path(root) / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
