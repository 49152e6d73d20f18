"""supervisor: one asyncio daemon that runs a data platform's background jobs."""

# Imported first so every logger the package creates is a SafeLogger (see supervisor.logs).
from supervisor import logs as _logs  # noqa: F401
