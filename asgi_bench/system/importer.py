"""One importer for every ``module:attribute`` string: servers, charts, load shapes, apps.

Example::

    >>> import_from_string("asgi_bench.apps.hello:app")   # doctest: +ELLIPSIS
    <function app at ...>

``python -m asgi_bench.system.importer module:attribute`` checks one in a fresh interpreter (exit 0,
or one line on stderr and exit 1): the harness checks a user's ``--app`` that way before any
server starts, without running the user's code in its own process.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

from asgi_bench.errors import ImportFromStringError


def split_import_string(text: str) -> tuple[str, str]:
    module, sep, attribute = text.partition(":")
    if not sep or not module or not attribute:
        raise ImportFromStringError(
            f"{text!r} is not an import string; expected 'package.module:attribute'"
        )
    return module, attribute


def import_from_string(text: str) -> Any:
    module_name, attribute = split_import_string(text)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name and not module_name.startswith(f"{exc.name}."):
            raise  # the module exists; something it imports does not
        raise ImportFromStringError(f"could not import module {module_name!r}") from exc
    value: Any = module
    try:
        for part in attribute.split("."):
            value = getattr(value, part)
    except AttributeError as exc:
        raise ImportFromStringError(
            f"module {module_name!r} has no attribute {attribute!r}"
        ) from exc
    return value


def main(argv: list[str]) -> int:
    (text,) = argv
    try:
        import_from_string(text)
    except ImportFromStringError as exc:
        print(exc, file=sys.stderr)
        return 1
    except Exception as exc:  # the user's module raised while importing
        print(f"importing {text!r} raised {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
