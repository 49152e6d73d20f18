"""The pools' own per-job metrics export exactly what prometheus_client's types would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from supervisor.metrics import JobFigures

RUNS = [("noop", "completed", 0.0004), ("noop", "completed", 0.001), ("noop", "failed", 2.5),
        ("sleep", "completed", 5.0), ("sleep", "dead", 4000.0)]
PICKUPS = [("first_time", 0.002), ("first_time", 0.0001), ("retry", 301.0)]


def _samples(text: str, *names: str) -> set[str]:
    return {line for line in text.splitlines()
            if line.startswith(names) and "_created" not in line}


def test_figures_match_prometheus_client_histograms_and_counters() -> None:
    ours = JobFigures()
    theirs = CollectorRegistry()
    finished = Counter("supervisor_jobs_finished", "x", ["job_type", "outcome"],
                       registry=theirs)
    run = Histogram("supervisor_job_run_seconds", "x", ["job_type"],
                    buckets=JobFigures.RUN_BUCKETS, registry=theirs)
    pickup = Histogram("supervisor_job_pickup_seconds", "x", ["lane"],
                       buckets=JobFigures.PICKUP_BUCKETS, registry=theirs)
    for job_type, outcome, seconds in RUNS:
        ours.job_finished(job_type, outcome, seconds)
        finished.labels(job_type, outcome).inc()
        run.labels(job_type).observe(seconds)
    for lane, seconds in PICKUPS:
        ours.picked_up(lane, seconds)
        pickup.labels(lane).observe(seconds)
    mine = CollectorRegistry()
    mine.register(ours)
    names = ("supervisor_jobs_finished_total", "supervisor_job_run_seconds",
             "supervisor_job_pickup_seconds")
    got = _samples(generate_latest(mine).decode(), *names)
    want = _samples(generate_latest(theirs).decode(), *names)
    assert got == want and len(got) == 4 + 2 * 16 + 2 * 15  # buckets, _count and _sum


def test_empty_figures_still_declare_their_types() -> None:
    registry = CollectorRegistry()
    registry.register(JobFigures())
    text = generate_latest(registry).decode()
    for name in ("supervisor_jobs_finished", "supervisor_job_run_seconds",
                 "supervisor_job_pickup_seconds"):
        assert f"# TYPE {name}" in text
