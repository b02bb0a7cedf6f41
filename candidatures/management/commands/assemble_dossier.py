"""Assemble a candidature dossier from a SIRET, exactly as the web flow does, and print its JSON."""

import json
import sys
import time

from django.core.management.base import BaseCommand

from candidatures import demo, pieces, selectors, services
from candidatures.dossier_view import flag_title
from candidatures.models import Candidature, Consultation, ExclusionFlag, SourceFetch
from connectors import registry
from connectors.identifiers import InvalidIdentifier, validate_siret

EXIT_INVALID_INPUT = 2
EXIT_INCOMPLETE = 3


class Command(BaseCommand):
    help = "Crée une candidature pour un SIRET, récupère les données des sources et affiche le dossier."

    def add_arguments(self, parser):
        parser.add_argument("--siret", required=True, help="SIRET de l'entreprise candidate (14 chiffres).")
        parser.add_argument(
            "--buyer-siret",
            default=demo.DEMO_BUYER_SIRET,
            help="SIRET de l'organisation acheteuse (destinataire des données).",
        )
        parser.add_argument("--object", default="assemble_dossier", help="Référence de la consultation (≤ 50).")
        parser.add_argument(
            "--market-type",
            choices=[choice for choice, _ in Consultation.MarketType.choices],
            default="services",
        )
        parser.add_argument("--wait", type=float, default=60.0, help="Attente maximale en secondes.")
        parser.add_argument("--json", action="store_true", help="Affiche uniquement le JSON du dossier.")
        parser.add_argument(
            "--sources",
            default=None,
            help="Limite les sources habilitées (clés séparées par des virgules) ; les autres finissent "
            "« non habilité » (unauthorized) sans être appelées.",
        )

    def handle(self, *args, **options):
        siret = self._valid_siret(options["siret"], label="SIRET de l'entreprise")
        buyer_siret = self._valid_siret(options["buyer_siret"], label="SIRET de l'acheteur")
        only_sources = self._sources(options["sources"])
        if options["object"] == "" or len(options["object"]) > 50:
            self._fail("L'objet (--object) doit faire entre 1 et 50 caractères.")

        organisation, _ = services.organisation_get_or_create(siret=buyer_siret, sources=only_sources)
        consultation = services.consultation_get_or_create(
            organisation=organisation, reference=options["object"], market_type=options["market_type"]
        )
        candidature, created = services.candidature_start(
            consultation=consultation, siret=siret, requested_by="assemble_dossier", only_sources=only_sources
        )
        if not options["json"]:
            verb = "créée" if created else "reprise"
            self.stderr.write(f"Candidature {candidature.pk} {verb} ; récupération des sources…")

        deadline = time.monotonic() + options["wait"]
        status = candidature.status
        while status != Candidature.Status.COMPLETE and time.monotonic() < deadline:
            time.sleep(0.1)
            status = Candidature.objects.values_list("status", flat=True).get(pk=candidature.pk)

        dossier = selectors.dossier_as_dict(candidature=selectors.candidature_for_dossier(pk=candidature.pk))
        if options["json"]:
            self.stdout.write(json.dumps(dossier, ensure_ascii=False, indent=2))
        else:
            self._print_summary(dossier)
        if status != Candidature.Status.COMPLETE:
            self.stderr.write(
                f"Le dossier n'est pas complet après {options['wait']:g} s : un worker Celery est-il démarré "
                "(make run) ? Relancez la commande pour reprendre la même candidature."
            )
            sys.exit(EXIT_INCOMPLETE)

    def _valid_siret(self, value: str, *, label: str) -> str:
        try:
            return validate_siret(value)
        except InvalidIdentifier as exc:
            self._fail(f"{label} invalide : {exc.message}")

    def _sources(self, value: str | None) -> list[str] | None:
        if value is None:
            return None
        keys = [key.strip() for key in value.split(",") if key.strip()]
        unknown = sorted(set(keys) - set(registry.SOURCES))
        if unknown:
            known = ", ".join(registry.SOURCES)
            self._fail(f"Source(s) inconnue(s) : {', '.join(unknown)}. Sources possibles : {known}.")
        return keys

    def _fail(self, message: str):
        self.stderr.write(message)
        sys.exit(EXIT_INVALID_INPUT)

    def _print_summary(self, dossier: dict) -> None:
        """For a person reading the terminal: the labels of the pages, not the codes of the JSON."""
        company = dossier["company"] or {}
        status = Candidature.Status(dossier["status"]).label
        self.stdout.write(f"Dossier {dossier['siret']} — {company.get('raison_sociale') or '?'} ({status})")
        for key, source in dossier["sources"].items():
            detail = f" HTTP {source['http_status']}" if source["http_status"] else ""
            label = SourceFetch.Status(source["status"]).label
            self.stdout.write(f"  {registry.label(key):52} {label}{detail} {source['error_code']}".rstrip())
        for document in dossier["documents"]:
            label = pieces.document_label(document["kind"])
            self.stdout.write(f"  justificatif {label} : {document['sha256']} ({document['size']} o)")
        for flag in dossier["exclusion_flags"]:
            severity = ExclusionFlag.Severity(flag["severity"]).label
            self.stdout.write(f"  ⚠ {severity} : {flag_title(flag['code'])}")
