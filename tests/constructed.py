"""Rows made by hand, for the report's tables and their arithmetic."""

from __future__ import annotations

from asgi_bench.results.rows import Row


def open_row(server: str, app: str, rate: float, **fields: object) -> Row:
    """An ok open-model row at ``rate``, bound by neither side; ``fields`` set its
    attributes (``bound="driver"``), and figures by name (``p50_ms=0.5``) go into its
    values."""
    row = Row(server, app, f"open-{rate:g}rps", "open", None, rate, "ok", "", 1, 1)
    row.bound = "neither"
    for name, value in fields.items():
        if hasattr(row, name):
            setattr(row, name, value)
        else:
            row.values[name] = value  # type: ignore[assignment]
    return row
