"""The cluster: node heartbeat, rescue of dead processes' jobs, wake-ups (PostgreSQL, Redis)."""
