"""Benchmark 1: one dossier against the sandbox with injected latency.

Starts its own stack (a temporary SQLite database, the filesystem broker, `python -m connectors.sandbox`
with SANDBOX_LATENCY_MS on every endpoint, a Celery worker of 8), then:
  - the sequential sum: each source's connector called one after the other, in process;
  - the assembly time: candidature created → every source final, through the worker (median of N runs).
Prints the figures. Usage: .venv/bin/python bench/one_dossier.py [--latency-ms 400 | --realistic] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

from passemarche.worker_process import start_worker, stop_worker  # noqa: E402


def wait_http(url: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=int, default=400)
    parser.add_argument(
        "--realistic", action="store_true", help="per-provider latencies (SANDBOX_LATENCY=realistic) instead"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--port", type=int, default=8019)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-one-dossier-") as folder:
        bench(args, Path(folder))


def bench(args, workdir: Path) -> None:
    base_url = f"http://127.0.0.1:{args.port}"
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "passemarche.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_BROKER_FOLDER": str(workdir / "broker"),
        "MEDIA_ROOT": str(workdir / "media"),
        "API_ENTREPRISE_BASE_URL": base_url,
        "BODACC_BASE_URL": f"{base_url}/bodacc/api/explore/v2.1",
        "SANDBOX_PORT": str(args.port),
        **({"SANDBOX_LATENCY": "realistic"} if args.realistic else {"SANDBOX_LATENCY_MS": str(args.latency_ms)}),
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    sandbox = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "connectors.sandbox", "--port", str(args.port)],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"{base_url}/__sandbox__/health")
        worker = start_worker(env=env, log_path=workdir / "worker.log", concurrency=8)
        try:
            run(args)
        finally:
            stop_worker(worker)
    finally:
        stop_worker(sandbox)


def run(args) -> None:
    from candidatures import demo, services
    from candidatures.models import Candidature
    from connectors import registry
    from connectors.identifiers import siren_of
    from connectors.sandbox.personas import DEMO_SIRET
    from connectors.types import CallContext

    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET, name="Bench")

    # Sequential: what one worker calling, in turn, the sources a dossier calls would take.
    sources = services.sources_needed(
        consultation=services.consultation_get_or_create(organisation=organisation, reference="BENCH-SEQ")
    )
    call = CallContext(recipient=organisation.siret, object="BENCH-SEQ")
    per_source = {}
    for key in sources:
        source = registry.SOURCES[key]
        started = time.perf_counter()
        source.call(siret=DEMO_SIRET, siren=siren_of(DEMO_SIRET), call=call)
        per_source[key] = time.perf_counter() - started
    sequential = sum(per_source.values())
    slowest_key = max(per_source, key=per_source.get)

    durations = []
    for index in range(args.runs):
        consultation = services.consultation_get_or_create(
            organisation=organisation, reference=f"BENCH-{time.time_ns()}-{index}"
        )
        started = time.perf_counter()
        candidature, _ = services.candidature_start(consultation=consultation, siret=DEMO_SIRET)
        while Candidature.objects.values_list("status", flat=True).get(pk=candidature.pk) != "complete":
            time.sleep(0.01)
        durations.append(time.perf_counter() - started)
        statuses = set(candidature.fetches.values_list("status", flat=True))
        assert statuses == {"ok"}, statuses

    median = statistics.median(durations)
    slowest = per_source[slowest_key]
    latency = "realistic profile" if args.realistic else f"{args.latency_ms} ms"
    print(f"latency injected per call       : {latency} (a document download is a second call)")
    print(f"sources of the dossier          : {len(sources)}")
    for key, seconds in per_source.items():
        print(f"  {key:32} {seconds * 1000:7.0f} ms (sequential, in process)")
    print(f"slowest source ({slowest_key:24}): {slowest * 1000:7.0f} ms")
    print(f"sequential sum of the sources   : {sequential * 1000:7.0f} ms")
    print(
        f"assembly through the worker     : median {median * 1000:.0f} ms, min {min(durations) * 1000:.0f} ms, "
        f"max {max(durations) * 1000:.0f} ms over {args.runs} runs"
    )
    print(f"assembly / slowest source       : {median / slowest:.2f}x")
    print(f"assembly / sequential sum       : {median / sequential:.2f}x")


if __name__ == "__main__":
    main()
