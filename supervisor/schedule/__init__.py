"""Cron schedules: cron arithmetic, rules, the schedule service, config sync, the tick."""
