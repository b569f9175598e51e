"""Background jobs: RQ entry points (tasks), the calliope runner, the worker, alerts.

Nothing here imports reflex; the web app only refers to jobs by dotted path.
"""
