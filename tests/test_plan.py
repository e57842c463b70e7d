"""The run's order: interleaved rounds, shuffled, reproducible from the recorded seed."""

from __future__ import annotations

from asgi_bench.config import RunConfig
from asgi_bench.run.plan import plan


def keys(seed: int, repeats: int = 3) -> list[str]:
    s = RunConfig(servers=("uvicorn", "granian"), apps=("hello", "sse"), seed=seed).load()
    return [job.key for job in plan(s.specs, s.workloads, s.steps, repeats, seed)]


def test_the_order_is_reproducible_from_its_seed():
    assert keys(42) == keys(42)
    assert keys(42) != keys(43)


def test_every_round_runs_every_cell_once_before_the_next():
    order = keys(7)
    cells = 2 * 2
    for round_ in range(3):
        chunk = order[round_ * cells : (round_ + 1) * cells]
        assert all(key.endswith(f"/r{round_ + 1}") for key in chunk)
        assert len({key.rsplit("/", 1)[0] for key in chunk}) == cells


def test_quick_fits_its_repeats_in_the_budget():
    settings = RunConfig(quick=True).load()
    jobs = len(settings.specs) * sum(len(steps) for steps in settings.steps.values())
    if settings.native_tools:  # wrk may follow each server's closed-loop hello peak
        jobs += len(settings.specs)
    per_repeat = settings.warmup + settings.duration + 2.5 + settings.cooldown
    assert settings.repeat * jobs * per_repeat <= 540
    assert RunConfig(quick=True, repeat=2).load().repeat == 2  # explicit wins
