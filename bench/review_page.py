"""Benchmark 3: the buyer's review page of a consultation with 1 000 candidatures, on PostgreSQL.

Builds its data in a database of its own (created if missing, `passemarche_bench` by default; every table is
emptied first), then renders the review page in process through Django's test client, signed in as the buyer:
  - the number of SQL queries of a page, with 1 candidature and with 1 000 (it must not grow);
  - the server time of a page (median and p95 over N requests), across the sorts, filters and pages a buyer uses.
  - with --no-analyze, without the `ANALYZE` it otherwise runs after building the data: the database is dropped
    and created again, so that its freshly filled tables have no planner statistics at all (as before autovacuum's
    first pass; a reused database keeps the statistics of its last ANALYZE across `flush`).
Usage: .venv/bin/python bench/review_page.py [--database-url postgres://postgres@127.0.0.1:5432/passemarche_bench]
       [--candidatures 1000] [--requests 60] [--no-analyze]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

SOURCES_PER_CANDIDATURE = 8
# What a buyer clicks: the default order, each sort, the filters, a search, a page further on.
QUERIES = ("", "?tri=entreprise", "?tri=-actualisation", "?etat=a_completer", "?exclusion=1", "?q=SOCIETE", "?page=10")


def create_database(url: str, *, fresh: bool = False) -> None:
    """Create the benchmark's database if missing; `fresh`: drop it first (no statistics left from a past run)."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        if fresh:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def build(count: int):
    """A buyer, a published consultation of `count` candidatures with their fetches, documents and flags."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from candidatures import services
    from candidatures.models import (
        Candidature,
        CompanyIdentity,
        Consultation,
        Document,
        ExclusionFlag,
        OrganisationMember,
        SourceFetch,
    )
    from connectors import registry
    from tests.builders import valid_sirets

    call_command("flush", interactive=False, verbosity=0)
    organisation, _ = services.organisation_get_or_create(siret="13002526500013", name="Acheteur du banc d'essai")
    user = get_user_model().objects.create_user(username="acheteur", email="acheteur@bench.local", password=None)
    OrganisationMember.objects.create(user=user, organisation=organisation)
    now = timezone.now()
    consultations = []
    for reference, size in (("BENCH-UN", 1), ("BENCH-MILLE", count)):
        consultation = services.consultation_get_or_create(
            organisation=organisation, reference=reference, market_type="travaux"
        )
        Consultation.objects.filter(pk=consultation.pk).update(published_at=now)
        candidatures = Candidature.objects.bulk_create(
            Candidature(
                consultation=consultation,
                siret=siret,
                siren=siret[:9],
                status=Candidature.Status.COMPLETE if index % 5 else Candidature.Status.IN_PROGRESS,
                submitted_at=now if index % 3 == 0 else None,
                completed_at=now,
            )
            for index, siret in enumerate(valid_sirets(size))
        )
        CompanyIdentity.objects.bulk_create(
            CompanyIdentity(
                candidature=candidature,
                raison_sociale=f"SOCIETE {index:04d}",
                adresse="1 rue de la Paix 75002 Paris",
                etat_administratif="A",
                diffusible=index % 50 != 0,
            )
            for index, candidature in enumerate(candidatures)
        )
        sources = list(registry.SOURCES)[:SOURCES_PER_CANDIDATURE]
        SourceFetch.objects.bulk_create(
            SourceFetch(candidature=candidature, source=source, status=SourceFetch.Status.OK, fetched_at=now)
            for candidature in candidatures
            for source in sources
        )
        Document.objects.bulk_create(
            Document(
                candidature=candidature,
                source=source,
                kind=source,
                file=f"documents/bench/{candidature.pk}-{source}.pdf",
                sha256="0" * 64,
                size=1000,
                content_type="application/pdf",
                fetched_at=now,
            )
            for candidature in candidatures
            for source in sources[:3]
        )
        ExclusionFlag.objects.bulk_create(
            ExclusionFlag(
                candidature=candidature,
                code="liquidation_judiciaire",
                severity=ExclusionFlag.Severity.EXCLUSION,
                ground="L2141-3",
                source="bodacc",
            )
            for index, candidature in enumerate(candidatures)
            if index % 10 == 0
        )
        consultations.append(consultation)
    return user, consultations


def measure(client, url: str) -> tuple[float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    return elapsed * 1000, len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/passemarche_bench")
    parser.add_argument("--candidatures", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="drop and create the database again and skip the ANALYZE: tables without planner statistics",
    )
    args = parser.parse_args()

    create_database(args.database_url, fresh=not args.analyze)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="passemarche.settings.dev",
        DEBUG="false",
        DATABASE_URL=args.database_url,
        ALLOWED_HOSTS="testserver",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    user, (one, thousand) = build(args.candidatures)
    print(f"data: {args.candidatures} candidatures built in {time.perf_counter() - started:.1f} s")
    # Statistics as autovacuum keeps them in production: without them the planner takes the fresh tables for empty.
    from django.db import connection

    if args.analyze:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('autovacuum')")
        autovacuum = cursor.fetchone()[0]
    print(
        ("statistics: ANALYZE run" if args.analyze else "statistics: none (--no-analyze, fresh database)")
        + f"; server autovacuum: {autovacuum}"
    )

    client = Client()
    client.force_login(user)
    small = reverse("consultation_review", args=[one.pk])
    large = reverse("consultation_review", args=[thousand.pk])
    measure(client, large)  # warm-up: templates, connection
    _, queries_one, _ = measure(client, small)
    _, queries_thousand, size = measure(client, large)
    print(f"queries per page: {queries_one} with 1 candidature, {queries_thousand} with {args.candidatures}")
    print(f"page size: {size / 1024:.0f} KiB (50 rows)")

    times: list[float] = []
    counts: set[int] = set()
    by_kind: dict[str, list[float]] = {query: [] for query in QUERIES}
    for index in range(args.requests):
        query = QUERIES[index % len(QUERIES)]
        elapsed, queries, _ = measure(client, large + query)
        times.append(elapsed)
        by_kind[query].append(elapsed)
        counts.add(queries)
    times.sort()
    p95 = times[max(0, round(0.95 * len(times)) - 1)]
    print(f"server time over {len(times)} requests ({len(QUERIES)} kinds): median {statistics.median(times):.0f} ms,")
    print(f"  p95 {p95:.0f} ms, min {times[0]:.0f} ms, max {times[-1]:.0f} ms; queries per page: {sorted(counts)}")
    for query, kind_times in by_kind.items():
        print(f"  {query or '(default order)'}: median {statistics.median(kind_times):.0f} ms")


if __name__ == "__main__":
    main()
