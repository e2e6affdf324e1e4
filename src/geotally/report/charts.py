"""Small SVG charts and HTML tables, rendered once in Python so the report needs no library."""

from __future__ import annotations

from html import escape

import pandas as pd


def bar_chart(labels: list[str], values: list[float], title: str, width: int = 520, height: int = 220,
              colour: str = "#4c78a8", chart_id: str = "") -> str:
    """A vertical bar chart as inline SVG."""
    n = max(len(values), 1)
    top = max(max(values, default=0), 1)
    pad_l, pad_b, pad_t = 40, 40, 24
    bw = (width - pad_l - 10) / n
    bars = []
    for i, (lab, v) in enumerate(zip(labels, values)):
        h = (height - pad_b - pad_t) * v / top
        x = pad_l + i * bw
        y = height - pad_b - h
        bars.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                    f'<title>{escape(str(lab))}: {v:g}</title></rect>')
        if n <= 20 or i % max(1, n // 15) == 0:
            bars.append(f'<text x="{x + bw / 2:.1f}" y="{height - pad_b + 14}" font-size="10" text-anchor="middle">'
                        f'{escape(str(lab))}</text>')
    axis = (f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - 5}" y2="{height - pad_b}" stroke="#333"/>'
            f'<text x="{pad_l - 4}" y="{pad_t + 4}" font-size="10" text-anchor="end">{top:g}</text>'
            f'<text x="{pad_l - 4}" y="{height - pad_b}" font-size="10" text-anchor="end">0</text>')
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg id="{chart_id}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(title)}">{axis}{"".join(bars)}</svg></figure>')


def table(df: pd.DataFrame, table_id: str, caption: str = "") -> str:
    """A plain HTML table with escaped cells."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False))
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return f'<table id="{table_id}">{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return escape(str(v))


def key_values(pairs: list[tuple[str, object]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in pairs)
    return f'<table id="{table_id}" class="kv"><tbody>{rows}</tbody></table>'


PALETTE = ("#4c78a8", "#e45756", "#54a24b", "#f58518", "#b279a2", "#72b7b2", "#9d755d", "#bab0ac")


def line_chart(dates: list[str], series: dict[str, tuple[list, list | None, list | None]], title: str,
               width: int = 620, height: int = 240, chart_id: str = "") -> str:
    """Counts over dates as inline SVG: one line per series (label -> values, lo95, hi95), with the
    95% interval drawn as a band when given. Each point carries its value in a <title> and in
    ``data-`` attributes, so the chart can be read and tested."""
    pad_l, pad_b, pad_t, pad_r = 44, 40, 24, 110
    tops = [max([v for v in (hi or vals) if v is not None] or [0]) for vals, _, hi in series.values()]
    top = max(tops + [1])
    n = max(len(dates) - 1, 1)
    x = lambda i: pad_l + (width - pad_l - pad_r) * i / n  # noqa: E731
    y = lambda v: height - pad_b - (height - pad_b - pad_t) * v / top  # noqa: E731
    parts = [f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" stroke="#333"/>',
             f'<text x="{pad_l - 4}" y="{pad_t + 4}" font-size="10" text-anchor="end">{top:g}</text>',
             f'<text x="{pad_l - 4}" y="{height - pad_b}" font-size="10" text-anchor="end">0</text>']
    for i, d in enumerate(dates):
        parts.append(f'<text x="{x(i):.1f}" y="{height - pad_b + 14}" font-size="10" text-anchor="middle">'
                     f'{escape(d)}</text>')
    for k, (label, (vals, lo, hi)) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        if lo is not None and hi is not None:
            ring = [(x(i), y(h)) for i, h in enumerate(hi)] + [(x(i), y(lo_)) for i, lo_ in reversed(list(enumerate(lo)))]
            parts.append(f'<polygon class="interval" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in ring)}" '
                         f'fill="{colour}" fill-opacity="0.18" stroke="none"/>')
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(vals))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2" '
                     f'data-series="{escape(label)}"/>')
        for i, v in enumerate(vals):
            rng = f" [{lo[i]:g}, {hi[i]:g}]" if lo is not None and hi is not None else ""
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}" data-series="{escape(label)}" '
                         f'data-date="{escape(dates[i])}" data-value="{v:g}"><title>{escape(label)} {escape(dates[i])}: '
                         f'{v:g}{rng}</title></circle>')
        parts.append(f'<text x="{width - pad_r + 6}" y="{pad_t + 14 * k + 4}" font-size="11" fill="{colour}">'
                     f'{escape(label)}</text>')
    return (f'<figure><figcaption>{escape(title)}</figcaption><svg id="{chart_id}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(title)}">{"".join(parts)}</svg></figure>')
