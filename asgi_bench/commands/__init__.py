"""The CLI's commands other than ``run`` itself, one module each: ``compare``, ``database``,
``driver-check``, ``overhead``, ``profile``, ``serve`` and ``ui``, ``verify`` and ``worker``.

A command may import any stage below it (run/, verdict/, results/, report/, system/);
nothing imports a command but the CLI.
"""
