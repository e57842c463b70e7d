"""A profile's stacks as files a person opens: speedscope's JSON (its own viewer zooms and
searches) and a plain SVG flame graph that any browser shows, with no script.

The SVG: root at the bottom, a frame's width its share of the samples, frames under 0.1%
of the width left out (they are unreadable, and a profile has thousands), each coloured by
the component its own samples would go to (:func:`asgi_bench.verdict.profile.classify`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from asgi_bench.verdict.profile import COMMON_RULES, COMPONENTS, Rule, classify

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
WIDTH, ROW, TOP = 1200.0, 16, 40  # px: the graph's width, a frame's height, the head
MIN_SHARE = 0.001  # narrower frames are dropped
CHAR_PX = 6.6  # about a character at font-size 11: whether a label fits
COLOURS = {
    "protocol": "#8fb8de",
    "loop": "#f5b971",
    "glue": "#c3a6dc",
    "app": "#93d18f",
    "middleware": "#f0908a",
    "stdlib": "#c9a99e",
    "kernel": "#f2b5de",
    "native": "#d8d878",
    "unattributed": "#c8c8c8",
}


def write_speedscope(stacks: Mapping[tuple[str, ...], int], path: Path, name: str) -> None:
    """``stacks`` as one sampled speedscope profile: each distinct stack one sample, its
    count the weight."""
    index: dict[str, int] = {}
    samples = [[index.setdefault(frame, len(index)) for frame in stack] for stack in stacks]
    weights = list(stacks.values())
    document = {
        "$schema": SCHEMA,
        "shared": {"frames": [{"name": frame} for frame in index]},
        "profiles": [
            {
                "type": "sampled",
                "name": name,
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
        "name": name,
        "exporter": "asgi-bench",
    }
    path.write_text(json.dumps(document))


class _Node:
    __slots__ = ("children", "count")

    def __init__(self) -> None:
        self.count = 0
        self.children: dict[str, _Node] = {}


def flamegraph_svg(
    stacks: Mapping[tuple[str, ...], int], title: str, rules: Sequence[Rule] = COMMON_RULES
) -> str:
    """``stacks`` as a self-contained SVG flame graph (module docstring).

    >>> svg = flamegraph_svg({("a (m.py:1)", "b (m.py:2)"): 3, ("a (m.py:1)",): 1}, "t")
    >>> "<title>b (m.py:2) (3 samples, 75.0%)</title>" in svg
    True
    """
    root = _Node()
    for stack, count in stacks.items():
        node = root
        node.count += count
        for frame in stack:
            node = node.children.setdefault(frame, _Node())
            node.count += count
    total = root.count or 1
    bars: list[tuple[int, float, float, str, tuple[str, ...], int]] = []
    # A loop, not recursion: a deep Python stack under native frames passes Python's limit.
    todo: list[tuple[_Node, tuple[str, ...], int, float]] = [(root, (), 0, 0.0)]
    while todo:
        node, path, depth, x = todo.pop()
        width = WIDTH * node.count / total
        bars.append((depth, x, width, path[-1] if path else "all", path, node.count))
        for frame, child in node.children.items():
            if child.count / total >= MIN_SHARE:
                todo.append((child, (*path, frame), depth + 1, x))
            x += WIDTH * child.count / total
    depth = max(bar[0] for bar in bars)
    height = TOP + (depth + 1) * ROW + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH:.0f}" height="{height}" '
        f'font-family="monospace" font-size="11">',
        f'<text x="4" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    x = 4.0
    for component, label in COMPONENTS:  # the legend
        parts.append(
            f'<rect x="{x:.0f}" y="24" width="10" height="10" fill="{COLOURS[component]}"/>'
            f'<text x="{x + 13:.0f}" y="33">{escape(label)}</text>'
        )
        x += 13 + len(label) * CHAR_PX + 12
    for level, left, width, frame, path, count in bars:
        y = height - 4 - (level + 1) * ROW
        colour = COLOURS[classify(path, rules)] if path else "#e0e0e0"
        tip = f"{frame} ({count} samples, {100 * count / total:.1f}%)"
        parts.append(
            f"<g><title>{escape(tip)}</title>"
            f'<rect x="{left:.2f}" y="{y}" width="{width:.2f}" height="{ROW - 1}" '
            f'fill="{colour}" rx="2"/>'
        )
        fits = int((width - 6) / CHAR_PX)
        if fits >= 3:
            label = frame if len(frame) <= fits else frame[: fits - 2] + ".."
            parts.append(f'<text x="{left + 3:.2f}" y="{y + 11}">{escape(label)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
