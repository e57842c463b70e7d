"""Expand a run into its repeats, in a seeded, interleaved order.

Every (cell, step) is measured once per round, rounds run one after the other, and within a
round the order is shuffled: a slow neighbour or a warming machine then spreads over every
server instead of landing on one. The seed is recorded in run.json, so the order can be
reproduced.

With ``paired`` each (cell, step) is measured twice in its round, bare and instrumented, one
right after the other: bare first in odd rounds, instrumented first in even ones, so neither
mode always follows the other.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from asgi_bench.load import Step
from asgi_bench.servers import ServerSpec
from asgi_bench.workloads import Workload


@dataclass(frozen=True)
class Job:
    """One repeat to measure: a cell (server, workload), a step, and which repeat it is."""

    spec: ServerSpec
    workload: Workload
    step: Step
    repeat: int  # 1-based
    order: int  # 0-based position in the run
    bare: bool = False  # --paired: this one without the middleware

    @property
    def cell(self) -> str:
        return f"{self.spec.name}/{self.workload.name}"

    @property
    def key(self) -> str:
        return f"{self.cell}/{self.step.id}/r{self.repeat}" + ("-bare" if self.bare else "")


def plan(
    specs: tuple[ServerSpec, ...],
    workloads: tuple[Workload, ...],
    steps: Mapping[str, tuple[Step, ...]],
    repeats: int,
    seed: int,
    paired: bool = False,
) -> list[Job]:
    rng = random.Random(seed)
    units = [(spec, w, step) for spec in specs for w in workloads for step in steps[w.name]]
    jobs: list[Job] = []
    for repeat in range(1, repeats + 1):
        round_ = list(units)
        rng.shuffle(round_)
        modes = ((repeat % 2 == 1), (repeat % 2 == 0)) if paired else (False,)
        for spec, workload, step in round_:
            for bare in modes:
                jobs.append(Job(spec, workload, step, repeat, len(jobs), bare))
    return jobs
