"""Labels on a matplotlib chart that fit or hide: never overlapping, never clipped.

The Gantt chart (:mod:`asyncsim.report.gantt`) offers each label as a list of texts,
longest first, and the box it must stay in (a bar, in data coordinates). Once the
figure is laid out, :class:`LabelPlacer` measures each text as it will be rendered
and keeps the first one that fits in its box without touching a label already
placed; a label none of whose texts fit is removed. Labels are placed in the order
they were offered, so the more important ones (a task's outcome) go first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["LabelPlacer"]

_PAD = 2.0  # pixels kept free around each label


Box = tuple[float, float, float, float]  # x0, x1, y0, y1 in data coordinates


@dataclass
class _Label:
    artist: Any
    # (text, x, horizontal alignment, box it must stay in or None), in order of preference
    options: list[tuple[str, float, str, Box | None]]
    ax: Any


@dataclass
class LabelPlacer:
    """Collects labels for one figure, then keeps those that fit (:meth:`place`)."""

    labels: list[_Label] = field(default_factory=list)

    def add(
        self,
        ax: Any,
        texts: list[str],
        x: float,
        y: float,
        *,
        box: Box | None = None,
        alternative: tuple[float, str, Box | None] | None = None,
        **style: Any,
    ) -> None:
        """Offer a label at ``(x, y)`` (data coordinates) with ``texts``, longest first.

        ``box`` is ``(x0, x1, y0, y1)`` in data coordinates that the text must stay
        inside (None: only inside the axes); ``alternative`` another ``(x, ha, box)``
        to try when no text fits at the first place; ``style`` goes to ``ax.text``.
        """
        texts = [t for t in texts if t]
        if not texts:
            return
        ha = style.pop("ha", "left")
        options = [(text, x, ha, box) for text in texts]
        if alternative is not None:
            options += [(text, *alternative) for text in texts]
        artist = ax.text(x, y, texts[0], ha=ha, clip_on=False, **style)
        artist.set_in_layout(False)  # labels never move the axes
        self.labels.append(_Label(artist, options, ax))

    def place(self, figure: Any) -> int:
        """Lay ``figure`` out, keep each label's first text that fits; returns how many."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = figure.canvas
        if not hasattr(canvas, "get_renderer"):
            canvas = FigureCanvasAgg(figure)
        figure.draw_without_rendering()
        renderer = canvas.get_renderer()
        placed: list[Any] = []
        kept = 0
        for label in self.labels:
            limits = label.ax.get_window_extent(renderer)
            chosen = None
            for text, x, ha, box in label.options:
                if box is not None:
                    x0, x1, y0, y1 = box
                    (px0, py0), (px1, py1) = label.ax.transData.transform([(x0, y0), (x1, y1)])
                    left, right = max(min(px0, px1), limits.x0), min(max(px0, px1), limits.x1)
                    bottom, top = min(py0, py1), max(py0, py1)
                else:
                    left, right, bottom, top = limits.x0, limits.x1, limits.y0, limits.y1
                label.artist.set_text(text)
                label.artist.set_x(x)
                label.artist.set_horizontalalignment(ha)
                bbox = label.artist.get_window_extent(renderer)
                inside = (
                    bbox.x0 >= left + _PAD
                    and bbox.x1 <= right - _PAD
                    and bbox.y0 >= max(bottom, limits.y0)
                    and bbox.y1 <= min(top, limits.y1)
                )
                if inside and not any(_overlap(bbox, other) for other in placed):
                    chosen = bbox
                    break
            if chosen is None:
                label.artist.remove()
            else:
                placed.append(chosen)
                kept += 1
        return kept


def _overlap(a: Any, b: Any) -> bool:
    return not (
        a.x1 + _PAD <= b.x0 or b.x1 + _PAD <= a.x0 or a.y1 + _PAD <= b.y0 or b.y1 + _PAD <= a.y0
    )
