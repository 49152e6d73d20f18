"""Prometheus metrics the runtime updates as it works."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS_FINISHED = Counter(
    "supervisor_jobs_finished_total", "Job runs that ended, by type and outcome",
    ["job_type", "outcome"],
)
JOBS_FENCED = Counter(
    "supervisor_jobs_fenced_total",
    "Results dropped because the job had been taken over (fencing token changed)",
)
JOBS_RESCUED = Counter(
    "supervisor_jobs_rescued_total", "Jobs returned from processes that stopped heartbeating",
    ["status"],
)
RUN_SECONDS = Histogram(
    "supervisor_job_run_seconds", "Time a handler ran", ["job_type"],
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800),
)
PICKUP_SECONDS = Histogram(
    "supervisor_job_pickup_seconds", "Time from a job becoming ready to a worker starting it",
    ["lane"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5, 30, 300),
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
