"""The CLI's commands other than ``run`` itself, one module each: ``compare``,
``driver-check``, ``overhead``, ``serve`` and ``ui``, and ``worker``.

A command may import any stage below it (run/, verdict/, results/, report/, system/);
nothing imports a command but the CLI.
"""
