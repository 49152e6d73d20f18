"""The process runtime: supervision, liveness, systemd notify, loops, waiting, event loop."""
