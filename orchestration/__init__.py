"""Dagster orchestration: the one Definitions, jobs, schedules and the demo runner."""
