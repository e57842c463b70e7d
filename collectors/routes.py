"""Route labels without a framework: a tiny table of templates, with a cardinality cap.

Example::

    routes = RouteLabeler(["/", "/items/{id}"])
    routes.label("/items/42")   # "/items/{id}"
    routes.label("/nope")       # "<unmatched>"

Without a table, raw paths are used until ``max_labels`` distinct values have been seen;
every later new path becomes ``<overflow>``. Raw paths can carry secrets (tokens in reset
links): ``raw_paths=False`` labels every path outside the table ``<unmatched>``. Either way
the number of label values, and so of series, stays bounded however many distinct paths
clients send.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

UNMATCHED = "<unmatched>"
OVERFLOW = "<overflow>"
_CACHE_LIMIT = 10_000


class RouteLabeler:
    def __init__(
        self, routes: Iterable[str] | None = None, max_labels: int = 100, raw_paths: bool = True
    ) -> None:
        self.templated = routes is not None
        self.max_labels = max_labels
        self.raw_paths = raw_paths
        self._exact: set[str] = set()
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for route in routes or ():
            if "{" in route:
                regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route))
                self._patterns.append((re.compile(regex + r"\Z"), route))
            else:
                self._exact.add(route)
        self._labels: set[str] = set()
        self.cache: dict[str, str] = {}  # path -> label, bounded

    def label(self, path: str) -> str:
        label = self.cache.get(path)
        if label is None:
            label = self._resolve(path)
            if len(self.cache) < _CACHE_LIMIT:
                self.cache[path] = label
        return label

    def template(self, template: str) -> str:
        """A route template a framework matched (``/items/{item_id}``), under the same cap."""
        return self._admit(template)

    def _resolve(self, path: str) -> str:
        if self.templated:
            if path in self._exact:
                label = path
            else:
                label = next((t for p, t in self._patterns if p.match(path)), UNMATCHED)
        else:
            label = path if self.raw_paths else UNMATCHED
        return self._admit(label)

    def _admit(self, label: str) -> str:
        if label in self._labels:
            return label
        if len(self._labels) >= self.max_labels:
            return OVERFLOW
        self._labels.add(label)
        return label
