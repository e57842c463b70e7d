"""Exec trampoline: ``python -m asgi_bench.system.pin 0,1 -- prog args...``.

Pins itself to the given CPUs, then execs the program, so the program and every worker it
forks inherit the affinity from their first instruction. (``preexec_fn`` would do the same
but is unsafe while the harness runs sampler threads.)
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    cpus, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: python -m asgi_bench.system.pin CPU[,CPU...] -- PROGRAM [ARGS...]")
    os.sched_setaffinity(0, {int(cpu) for cpu in cpus.split(",")})
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
