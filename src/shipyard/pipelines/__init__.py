"""Pipelines: @step and @pipeline, DAGs from data dependencies, caching, retries, schedules."""

__all__: list[str] = []
