"""A real Celery worker in a child process, for the integration tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def start_worker(*, env: dict[str, str], log_path: Path, concurrency: int = 8, timeout: float = 60) -> subprocess.Popen:
    """Start `celery -A passemarche worker` and return once it says it is ready."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "passemarche",
                "worker",
                f"--concurrency={concurrency}",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Celery worker exited:\n{log_path.read_text()}")
        if b"ready." in log_path.read_bytes():
            return process
        time.sleep(0.1)
    stop_worker(process)
    raise RuntimeError(f"Celery worker not ready after {timeout} s:\n{log_path.read_text()}")


def stop_worker(process: subprocess.Popen, timeout: float = 20) -> None:
    """Warm shutdown through the main process (it stops its own pool); kill the group if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
