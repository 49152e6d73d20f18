"""The HTTP API: the Jobs API, schedules, API keys, health and metrics, served by the daemon."""
