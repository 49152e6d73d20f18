"""Prometheus metrics the runtime updates as it works."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

JOBS_FENCED = Counter(
    "supervisor_jobs_fenced_total",
    "Results dropped because the job had been taken over (fencing token changed)",
)
JOBS_RESCUED = Counter(
    "supervisor_jobs_rescued_total", "Jobs returned from processes that stopped heartbeating",
    ["status"],
)
QUEUE_DEPTH = Gauge(
    "supervisor_queue_depth", "Claimed jobs waiting in memory (sampled each heartbeat)", ["lane"]
)
RUNNING = Gauge("supervisor_jobs_running", "Jobs running now (sampled each heartbeat)", ["lane"])
SERVICE_RESTARTS = Counter(
    "supervisor_service_restarts_total", "Crashed services restarted", ["service"]
)
SCHEDULE_LATENESS = Histogram(
    "supervisor_schedule_lateness_seconds",
    "How long after its scheduled time a cron fire was inserted",
    buckets=(0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 86400),
)


class _Buckets:
    """One labelled histogram's counts: per bucket (not yet cumulative) and their sum."""

    __slots__ = ("counts", "total")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size
        self.total = 0.0


class JobFigures(Collector):
    """The per-job metrics of the worker pools, counted in plain Python, exported on scrape.

    A prometheus_client Histogram takes a lock for its sum and for its bucket on every
    observation, and a Counter one per increment: together a tenth of the pool's whole cost of
    a no-op job. The pools run on the event loop's one thread, so plain lists are enough; a
    scrape from another thread reads counts at most one job behind.
    """

    RUN_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800)
    PICKUP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 300)

    def __init__(self) -> None:
        self.finished: dict[tuple[str, str], int] = {}
        self.run: dict[str, _Buckets] = {}
        self.pickup: dict[str, _Buckets] = {}

    def job_finished(self, job_type: str, outcome: str, seconds: float) -> None:
        """A run of `job_type` ended with `outcome` after `seconds` in its handler."""
        key = (job_type, outcome)
        self.finished[key] = self.finished.get(key, 0) + 1
        _observe(self.run, job_type, self.RUN_BUCKETS, seconds)

    def picked_up(self, lane: str, seconds: float) -> None:
        """A worker of `lane` started a job `seconds` after it became ready."""
        _observe(self.pickup, lane, self.PICKUP_BUCKETS, seconds)

    def collect(self) -> Iterator[Metric]:
        """The three families, as prometheus_client's own types would show them."""
        finished = CounterMetricFamily("supervisor_jobs_finished",
                                       "Job runs that ended, by type and outcome",
                                       labels=["job_type", "outcome"])
        for (job_type, outcome), n in sorted(self.finished.items()):
            finished.add_metric([job_type, outcome], n)
        yield finished
        yield _family("supervisor_job_run_seconds", "Time a handler ran", "job_type",
                      self.RUN_BUCKETS, self.run)
        yield _family("supervisor_job_pickup_seconds",
                      "Time from a job becoming ready to a worker starting it", "lane",
                      self.PICKUP_BUCKETS, self.pickup)


def _observe(into: dict[str, _Buckets], label: str, bounds: Sequence[float],
             value: float) -> None:
    found = into.get(label)
    if found is None:
        found = into[label] = _Buckets(len(bounds) + 1)
    found.counts[bisect_left(bounds, value)] += 1  # le is inclusive, as in Prometheus
    found.total += value


def _family(name: str, doc: str, label: str, bounds: Sequence[float],
            series: dict[str, _Buckets]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    for value, b in sorted(series.items()):
        cumulative, buckets = 0, []
        for bound, n in zip([*map(floatToGoString, bounds), "+Inf"], b.counts,
                            strict=True):
            cumulative += n
            buckets.append((bound, float(cumulative)))
        family.add_metric([value], buckets, b.total)
    return family


JOB_FIGURES = JobFigures()
REGISTRY.register(JOB_FIGURES)
