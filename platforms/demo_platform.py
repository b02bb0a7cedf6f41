"""A buyer platform, played: what an integrator's code does against the portal, end to end.

    python -m platforms.demo_platform [--portal http://127.0.0.1:8000] [--port 8020] [--once]

It receives the webhooks on 127.0.0.1:<port>/webhooks/ (each one verified, a replay or a forgery refused with
401, a duplicate delivery ignored), obtains a token (OAuth2 client credentials), creates its consultation
DEMO-PLATEFORME-001 (or finds it again), creates a candidature for a sandbox company, waits for the webhook
`candidature.dossier_complete`, reads the dossier JSON and prints a summary; then keeps listening (Ctrl-C stops),
reading the dossier of every candidature that completes, unless `--once`.

Standalone on purpose (standard library, `requests` and the documented verification module): it is what a
platform's developer would write, and it talks to the portal over HTTP only. The defaults are the demo client that
`manage.py load_demo` creates (candidatures/demo.py). Exit code 1, with a French message, on any failure.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import NameResolutionError

# Plain constant modules (no Django): the demo client that `load_demo` creates, and the sandbox's companies.
from candidatures import demo
from connectors.sandbox import personas
from platforms.webhook_verification import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    verify,
)

# The demo client of `load_demo` (candidatures/demo.py): a local demo, never a production credential.
DEFAULT_PORTAL = "http://127.0.0.1:8000"
DEFAULT_PORT = urlsplit(demo.DEMO_PLATFORM_WEBHOOK_URL).port
DEFAULT_CLIENT_ID = demo.DEMO_PLATFORM_CLIENT_ID
DEFAULT_CLIENT_SECRET = demo.DEMO_PLATFORM_CLIENT_SECRET
DEFAULT_WEBHOOK_SECRET = demo.DEMO_PLATFORM_WEBHOOK_SECRET
DEFAULT_BUYER_SIRET = demo.DEMO_BUYER_SIRET
# The sandbox's "everything in order" company: every source answers, with its certificates.
DEFAULT_SIRET = personas.DEMO_SIRET
REFERENCE = demo.DEMO_PLATFORM_CONSULTATION_REFERENCE
TITLE = "Maintenance applicative de la plateforme de démonstration"
DOSSIER_COMPLETE = "candidature.dossier_complete"
REFRESHED_SOURCE = "insee_etablissement"
MAX_BODY_BYTES = 1_000_000
CONNECT_TIMEOUT, READ_TIMEOUT = 3, 30


DESCRIPTION = (
    "Plateforme acheteuse de démonstration : crée sa consultation et une candidature par l'API du portail, "
    "reçoit et vérifie les webhooks, affiche le dossier complet."
)


class DemoError(Exception):
    """A failure the demo cannot go past; its message, in French, is what the user reads."""


def say(message: str) -> None:
    print(message, flush=True)


def _causes(error: BaseException):
    while error is not None:
        yield error
        error = error.__cause__ or error.__context__


def network_failure(error: requests.RequestException) -> str:
    """What went wrong on the network, in French words (requests' exception names mean nothing to the reader)."""
    if isinstance(error, requests.ConnectTimeout):
        return "délai de connexion dépassé"
    if isinstance(error, requests.Timeout):
        return "délai de réponse dépassé"
    if isinstance(error, requests.exceptions.SSLError):
        return "connexion TLS refusée"
    causes = list(_causes(error))
    if any(isinstance(cause, NameResolutionError | socket.gaierror) for cause in causes):
        return "nom d'hôte introuvable"
    if any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return "connexion refusée"
    if isinstance(error, requests.ConnectionError):
        return "connexion impossible ou interrompue"
    return "erreur réseau"


LISTEN_FAILURES = {
    errno.EADDRINUSE: "port déjà utilisé",
    errno.EACCES: "permission refusée",
    errno.EADDRNOTAVAIL: "adresse indisponible",
}


def listen_failure(error: OSError) -> str:
    return LISTEN_FAILURES.get(error.errno, f"erreur système {error.errno}")


# --- Receiving the webhooks -----------------------------------------------------------------------------------


@dataclass
class Inbox:
    """The verified events, each delivery once; a waiter is woken when one arrives."""

    events: list[dict] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    condition: threading.Condition = field(default_factory=threading.Condition)

    def add(self, *, delivery: str, event: dict) -> bool:
        """False when that delivery was already received (a retry whose 2xx got lost): it is ignored."""
        with self.condition:
            if delivery in self.seen:
                return False
            self.seen.add(delivery)
            self.events.append(event)
            self.condition.notify_all()
            return True

    def wait_for(self, predicate: Callable[[dict], bool], *, timeout: float, start: int = 0) -> tuple[dict | None, int]:
        """The first event from index `start` that matches, or None after `timeout`; and where to look next."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while True:
                for index in range(start, len(self.events)):
                    if predicate(self.events[index]):
                        return self.events[index], index + 1
                start = len(self.events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None, start
                self.condition.wait(remaining)


def candidature_id(event: dict) -> str | None:
    candidature = (event.get("data") or {}).get("candidature") or {}
    return str(candidature["id"]) if candidature.get("id") is not None else None


def describe(event: dict) -> str:
    """One French line for an event: its type and what it is about."""
    data = event.get("data") or {}
    parts = []
    if consultation := data.get("consultation"):
        parts.append(f"consultation {consultation.get('reference') or consultation.get('id')}")
    if candidature := data.get("candidature"):
        parts.append(f"candidature {candidature.get('id')} (SIRET {candidature.get('siret')})")
    if flag := data.get("flag"):
        parts.append(f"motif {flag.get('code')} ({flag.get('severity')})")
    return f"{event.get('type')} — {', '.join(parts) or 'sans détail'}"


def make_handler(*, secret: str, inbox: Inbox, tolerance_seconds: int = 300) -> type[BaseHTTPRequestHandler]:
    class WebhookHandler(BaseHTTPRequestHandler):
        server_version = "PlateformeDemo/1"

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/webhooks":
                self._answer(HTTPStatus.NOT_FOUND, "not_found")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(HTTPStatus.LENGTH_REQUIRED, "length_required")
                return
            if not 0 <= length <= MAX_BODY_BYTES:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large")
                return
            # The raw bytes, verified before anything reads them: a re-serialised JSON would not match.
            body = self.rfile.read(length)
            try:
                verify(
                    secret=secret,
                    body=body,
                    timestamp=self.headers.get(TIMESTAMP_HEADER, ""),
                    signature=self.headers.get(SIGNATURE_HEADER, ""),
                    tolerance_seconds=tolerance_seconds,
                )
            except InvalidSignature as error:
                say(f"Webhook refusé ({error.reason}) : signature invalide ou message rejoué.")
                self._answer(HTTPStatus.UNAUTHORIZED, error.reason)
                return
            try:
                event = json.loads(body)
            except ValueError:
                self._answer(HTTPStatus.BAD_REQUEST, "malformed_json")
                return
            delivery = self.headers.get(DELIVERY_HEADER) or str(event.get("id"))
            event.setdefault("type", self.headers.get(EVENT_HEADER))
            # Answer fast (the portal times out and retries): the work happens elsewhere, on the inbox.
            if inbox.add(delivery=delivery, event=event):
                say(f"Webhook vérifié : {describe(event)} (livraison {delivery}).")
            else:
                say(f"Webhook déjà reçu, ignoré (livraison {delivery}).")
            self._answer(HTTPStatus.NO_CONTENT)

        def _answer(self, status: HTTPStatus, reason: str = "") -> None:
            payload = reason.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and status != HTTPStatus.NO_CONTENT:
                self.wfile.write(payload)

        def log_message(self, format, *args) -> None:
            pass  # one French line per webhook instead of the access log

    return WebhookHandler


def start_receiver(*, port: int, secret: str, inbox: Inbox, tolerance_seconds: int = 300) -> ThreadingHTTPServer:
    handler = make_handler(secret=secret, inbox=inbox, tolerance_seconds=tolerance_seconds)
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        raise DemoError(
            f"Impossible d'écouter sur 127.0.0.1:{port} ({listen_failure(error)}) : choisissez --port."
        ) from error
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="webhooks", daemon=True).start()
    return server


# --- Calling the API ------------------------------------------------------------------------------------------


class Portal:
    """The portal's API over HTTP, with a bearer token obtained (and obtained again) by client credentials."""

    def __init__(self, *, base_url: str, client_id: str, client_secret: str):
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.session = requests.Session()
        self.token: str | None = None

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base_url}{path}"

    def wait_until_up(self, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                # Any HTTP answer will do (405 here): the portal is serving.
                self.session.get(self.url("/api/oauth/token/"), timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                return
            except requests.RequestException as error:
                if time.monotonic() > deadline:
                    raise DemoError(
                        f"Le portail ne répond pas à {self.base_url} après {timeout:.0f} s "
                        f"({network_failure(error)}) : est-il lancé (make run) ?"
                    ) from error
                time.sleep(0.5)

    def obtain_token(self) -> dict:
        try:
            response = self.session.post(
                self.url("/api/oauth/token/"),
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
            )
        except requests.RequestException as error:
            raise DemoError(f"Le portail ne répond pas à {self.base_url} ({network_failure(error)}).") from error
        if response.status_code != HTTPStatus.OK:
            code = _json(response).get("error", response.status_code)
            raise DemoError(
                f"Jeton refusé par le portail ({code}) : vérifiez --client-id et --client-secret "
                "(`manage.py load_demo` crée le client de démonstration)."
            )
        body = response.json()
        self.token = body["access_token"]
        return body

    def call(self, method: str, path: str, *, json_body: dict | None = None) -> requests.Response:
        """The response whatever its status; a network failure is fatal. A token that expired is renewed once."""
        for renewed in (False, True):
            if self.token is None:
                self.obtain_token()
            try:
                response = self.session.request(
                    method,
                    self.url(path),
                    json=json_body,
                    headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                )
            except requests.RequestException as error:
                raise DemoError(f"Le portail ne répond pas ({method} {path} : {network_failure(error)}).") from error
            if response.status_code == HTTPStatus.UNAUTHORIZED and not renewed:
                self.token = None
                continue
            return response
        return response

    def expect(self, response: requests.Response, *statuses: int) -> dict:
        if response.status_code in statuses:
            return response.json()
        error = _json(response)
        raise DemoError(
            f"{response.request.method} {response.request.path_url} : HTTP {response.status_code} "
            f"{error.get('code', '')} — {error.get('message', response.text[:200])}"
        )


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def consultation_find_or_create(portal: Portal, *, buyer_siret: str) -> tuple[dict, bool]:
    """Created the first time; found again afterwards (its reference is taken: 400 on `reference`)."""
    deadline = datetime.now(UTC) + timedelta(days=30)
    response = portal.call(
        "POST",
        "/api/v1/consultations/",
        json_body={
            "organisation": buyer_siret,
            "reference": REFERENCE,
            "title": TITLE,
            "market_type": "services",
            "deadline": deadline.isoformat(timespec="seconds"),
            "lots": ["Maintenance corrective", "Maintenance évolutive"],
            "publish": True,
        },
    )
    if response.status_code == HTTPStatus.CREATED:
        return response.json(), True
    error = _json(response)
    if response.status_code != HTTPStatus.BAD_REQUEST or "reference" not in (error.get("fields") or {}):
        portal.expect(response, HTTPStatus.CREATED)
    page = f"/api/v1/consultations/?organisation={buyer_siret}"
    while page:
        listing = portal.expect(portal.call("GET", page), HTTPStatus.OK)
        for consultation in listing["results"]:
            if consultation["reference"] == REFERENCE:
                return consultation, False
        page = listing.get("next")
    raise DemoError(
        f"La référence {REFERENCE} est refusée ({'; '.join(error['fields']['reference'])}) "
        "mais la consultation n'est pas dans la liste de l'organisation."
    )


def summary(dossier: dict) -> list[str]:
    company = dossier.get("company") or {}
    if company.get("identite_protegee"):
        name = "(identité protégée : entreprise non diffusible)"
    else:
        name = company.get("raison_sociale") or "(inconnue)"
    sources = dossier.get("sources") or {}
    ok = sum(1 for source in sources.values() if source.get("status") == "ok")
    others = sorted(
        f"{key} : {source.get('status')}" for key, source in sources.items() if source.get("status") != "ok"
    )
    flags = dossier.get("exclusion_flags") or []
    lines = [
        f"Dossier {dossier.get('siret')} ({dossier.get('status')}) :",
        f"  raison sociale : {name}",
        f"  sources : {ok}/{len(sources)} ok" + (f" ({', '.join(others)})" if others else ""),
        f"  documents : {len(dossier.get('documents') or [])}",
    ]
    if flags:
        lines.append(f"  motifs signalés : {len(flags)}")
        lines += [f"    - [{flag.get('severity')}] {flag.get('code')} ({flag.get('source')})" for flag in flags]
    else:
        lines.append("  motifs signalés : aucun")
    return lines


def print_dossier(portal: Portal, candidature: str) -> None:
    dossier = portal.expect(portal.call("GET", f"/api/v1/candidatures/{candidature}/dossier/"), HTTPStatus.OK)
    for line in summary(dossier):
        say(line)


# --- The scenario ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    inbox = Inbox()
    portal = Portal(base_url=args.portal, client_id=args.client_id, client_secret=args.client_secret)
    server = None
    try:
        server = start_receiver(port=args.port, secret=args.webhook_secret, inbox=inbox)
        say(f"Plateforme de démonstration : webhooks reçus sur http://127.0.0.1:{server.server_address[1]}/webhooks/")
        start = scenario(args, portal, inbox)
    except DemoError as error:
        if args.once or not args.keep_listening_on_error:
            raise
        # Under `make run` (honcho stops every process when one exits): the portal keeps running.
        print(f"Erreur : {error}", file=sys.stderr, flush=True)
        if server is None:
            threading.Event().wait()  # nothing to receive: wait for Ctrl-C
        start = 0
    try:
        if not args.once:
            listen(portal, inbox, start=start)
        return 0
    finally:
        server.shutdown()
        server.server_close()


def scenario(args: argparse.Namespace, portal: Portal, inbox: Inbox) -> int:
    """Token, consultation, candidature, its dossier once complete; returns where the inbox was read up to."""
    say(f"Attente du portail {portal.base_url}…")
    portal.wait_until_up(timeout=args.wait)
    token = portal.obtain_token()
    say(f"Jeton obtenu pour {args.client_id} (portées : {token.get('scope')}), valable {token.get('expires_in')} s.")

    consultation, created = consultation_find_or_create(portal, buyer_siret=args.buyer_siret)
    say(
        f"Consultation {consultation['reference']} {'créée' if created else 'retrouvée'} (id {consultation['id']}) — "
        f"lien des candidats : {consultation.get('candidate_link')}"
    )

    response = portal.call(
        "POST", f"/api/v1/consultations/{consultation['id']}/candidatures/", json_body={"siret": args.siret}
    )
    candidature = portal.expect(response, HTTPStatus.CREATED, HTTPStatus.OK)
    cid = str(candidature["id"])
    say(
        f"Candidature {cid} {'créée' if response.status_code == HTTPStatus.CREATED else 'retrouvée'} pour le SIRET "
        f"{candidature['siret']} (état : {candidature['state']}) — lien de l'entreprise : {candidature['company_link']}"
    )
    if candidature["status"] == "complete":
        # Complete at an earlier run, its webhook sent then: asking for one source again brings a new one.
        refresh = portal.call("POST", f"/api/v1/candidatures/{cid}/refresh/", json_body={"source": REFRESHED_SOURCE})
        if refresh.status_code not in (HTTPStatus.OK, HTTPStatus.ACCEPTED):
            error = _json(refresh)
            say(f"Dossier déjà complet ; actualisation refusée ({error.get('code')} : {error.get('message')}).")
            print_dossier(portal, cid)
            return 0
        say(f"Dossier déjà complet : nouvelle récupération de la source {REFRESHED_SOURCE} demandée.")

    say(f"Attente du webhook {DOSSIER_COMPLETE} (au plus {args.timeout:.0f} s)…")
    event, start = inbox.wait_for(
        lambda event: event.get("type") == DOSSIER_COMPLETE and candidature_id(event) == cid, timeout=args.timeout
    )
    if event is None:
        raise DemoError(
            f"Aucun webhook {DOSSIER_COMPLETE} pour la candidature {cid} en {args.timeout:.0f} s : le worker "
            "Celery tourne-t-il, et l'abonnement webhook de la plateforme pointe-t-il vers ce port ?"
        )
    print_dossier(portal, cid)
    return start


def listen(portal: Portal, inbox: Inbox, *, start: int) -> None:
    """Until Ctrl-C: the dossier of every candidature that completes (one created on the portal's pages too)."""
    say("En écoute des webhooks (Ctrl-C pour arrêter).")
    while True:
        event, start = inbox.wait_for(lambda event: event.get("type") == DOSSIER_COMPLETE, timeout=3600, start=start)
        if event is not None:
            try:
                print_dossier(portal, candidature_id(event))
            except DemoError as error:
                print(f"Erreur : {error}", file=sys.stderr, flush=True)


class FrenchHelpFormatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        super().add_usage(usage, actions, groups, prefix="utilisation : " if prefix is None else prefix)


class FrenchArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse's own messages have no French catalogue: at least the frame of the line is French.
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog} : erreur : {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchArgumentParser(
        prog="python -m platforms.demo_platform",
        description=DESCRIPTION,
        formatter_class=FrenchHelpFormatter,
        add_help=False,
    )
    options = parser.add_argument_group("options")
    options.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")
    options.add_argument(
        "--portal", metavar="ADRESSE", default=DEFAULT_PORTAL, help="adresse du portail (défaut : %(default)s)"
    )
    options.add_argument(
        "--port", metavar="PORT", type=int, default=DEFAULT_PORT, help="port des webhooks (défaut : %(default)s)"
    )
    options.add_argument(
        "--client-id",
        metavar="IDENTIFIANT",
        default=DEFAULT_CLIENT_ID,
        help="identifiant du client de l'API (défaut : %(default)s)",
    )
    options.add_argument(
        "--client-secret",
        metavar="SECRET",
        default=DEFAULT_CLIENT_SECRET,
        help="secret du client de l'API (défaut : celui du client de démonstration de load_demo)",
    )
    options.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        default=DEFAULT_WEBHOOK_SECRET,
        help="secret de signature des webhooks (défaut : celui de l'abonnement de démonstration de load_demo)",
    )
    options.add_argument(
        "--siret", metavar="SIRET", default=DEFAULT_SIRET, help="SIRET de l'entreprise candidate (défaut : %(default)s)"
    )
    options.add_argument(
        "--buyer-siret",
        metavar="SIRET",
        default=DEFAULT_BUYER_SIRET,
        help="SIRET de l'organisation acheteuse (défaut : %(default)s)",
    )
    options.add_argument(
        "--wait",
        metavar="SECONDES",
        type=float,
        default=120,
        help="attente du portail, en secondes (défaut : %(default)s)",
    )
    options.add_argument(
        "--timeout",
        metavar="SECONDES",
        type=float,
        default=180,
        help="attente du dossier complet, en secondes (défaut : %(default)s)",
    )
    options.add_argument("--once", action="store_true", help="s'arrêter après le premier dossier (code 1 si échec)")
    options.add_argument(
        "--keep-listening-on-error",
        action="store_true",
        help="en cas d'échec, l'afficher et rester à l'écoute (make run : un échec n'arrête pas le portail)",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except DemoError as error:
        print(f"Erreur : {error}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        say("Plateforme de démonstration arrêtée.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
