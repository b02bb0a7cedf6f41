"""Integration tests: a real Celery worker (a separate process) and the sandbox over real HTTP.

Their fixtures (`sandbox`, `worker_env`, `celery_worker`, `faults`) live in tests/conftest.py, shared with the
browser tests (tests/browser/).
"""
