"""Load the demo data (idempotent) and print the accounts and SIRETs to try."""

from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.utils import timezone

from candidatures import demo, pieces, services
from candidatures.models import Consultation, Lot, Organisation, OrganisationMember
from connectors.sandbox import personas
from platforms import services as platform_services
from platforms import webhooks
from platforms.models import ApiClient, WebhookEndpoint, WebhookEvent


def demo_platform_load(*, organisation: Organisation) -> ApiClient:
    """The API client of `platforms.demo_platform` and its webhook, with fixed credentials; left as they are
    when they exist (an admin may have rotated the secret or deactivated the client on purpose)."""
    client = ApiClient.objects.filter(application__client_id=demo.DEMO_PLATFORM_CLIENT_ID).first()
    if client is None:
        client, _ = platform_services.api_client_create(
            name=demo.DEMO_PLATFORM_NAME,
            organisations=[organisation],
            scopes=list(settings.API_SCOPES),
            client_id=demo.DEMO_PLATFORM_CLIENT_ID,
            client_secret=demo.DEMO_PLATFORM_CLIENT_SECRET,
        )
    if not WebhookEndpoint.objects.filter(api_client=client, url=demo.DEMO_PLATFORM_WEBHOOK_URL).exists():
        # Through the service, which refuses a loopback address unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES (dev).
        webhooks.webhook_endpoint_create(
            api_client=client,
            url=demo.DEMO_PLATFORM_WEBHOOK_URL,
            events=WebhookEvent.values,
            secret=demo.DEMO_PLATFORM_WEBHOOK_SECRET,
        )
    # The platform creates its consultation through the API, with a deadline; a demo database kept past it
    # would refuse its candidatures (the API has no update): the demo stays open.
    platform_consultation = Consultation.objects.filter(
        organisation=organisation, reference=demo.DEMO_PLATFORM_CONSULTATION_REFERENCE
    ).first()
    if platform_consultation is not None and platform_consultation.is_closed:
        platform_consultation.deadline = timezone.now() + timedelta(days=30)
        platform_consultation.save(update_fields=["deadline", "updated_at"])
    return client


class Command(BaseCommand):
    help = "Charge les données de démonstration (organisation acheteuse, consultation, comptes)."

    def handle(self, *args, **options):
        organisation, _ = services.organisation_get_or_create(
            siret=demo.DEMO_BUYER_SIRET, name=demo.DEMO_BUYER_NAME, granted_by="données de démonstration"
        )
        consultation, created = Consultation.objects.get_or_create(
            organisation=organisation,
            reference=demo.DEMO_CONSULTATION_REFERENCE,
            defaults={
                "title": demo.DEMO_CONSULTATION_TITLE,
                "market_type": Consultation.MarketType.TRAVAUX,
                "deadline": timezone.now() + timedelta(days=30),
                "required_pieces": pieces.default_pieces(market_type=Consultation.MarketType.TRAVAUX),
                "published_at": timezone.now(),
            },
        )
        if not created and consultation.is_closed:
            # A demo database kept past the deadline would refuse every candidature: the demo stays open.
            consultation.deadline = timezone.now() + timedelta(days=30)
            consultation.save(update_fields=["deadline", "updated_at"])
        if created:
            Lot.objects.bulk_create(
                [
                    Lot(consultation=consultation, number=1, title="Isolation thermique par l'extérieur"),
                    Lot(consultation=consultation, number=2, title="Remplacement des menuiseries"),
                ]
            )
        user_model = get_user_model()
        if not user_model.objects.filter(username=demo.DEMO_ADMIN_USERNAME).exists():
            user_model.objects.create_superuser(
                demo.DEMO_ADMIN_USERNAME, demo.DEMO_ADMIN_EMAIL, demo.DEMO_ADMIN_PASSWORD
            )
        # The admin signs in through the portal's login (by email), like everyone: its address is verified.
        self._verified_user(demo.DEMO_ADMIN_EMAIL, demo.DEMO_ADMIN_PASSWORD)
        operator = self._verified_user(demo.DEMO_OPERATOR_EMAIL, demo.DEMO_OPERATOR_PASSWORD)
        user_model.objects.filter(pk=operator.pk).update(is_staff=True)
        operator.groups.add(Group.objects.get(name=demo.DEMO_OPERATOR_GROUP))
        buyer = self._verified_user(demo.DEMO_BUYER_EMAIL, demo.DEMO_BUYER_PASSWORD)
        OrganisationMember.objects.get_or_create(user=buyer, defaults={"organisation": organisation})
        self._verified_user(demo.DEMO_COMPANY_EMAIL, demo.DEMO_COMPANY_PASSWORD)
        demo_platform_load(organisation=organisation)

        self.stdout.write(
            "\n".join(
                [
                    "Données de démonstration prêtes :",
                    f"  organisation acheteuse : {organisation.name} — SIRET {organisation.siret}",
                    f"  consultation           : {consultation.reference} — {consultation.title}",
                    f"  lien candidat          : http://127.0.0.1:8000/c/{consultation.reference}/",
                    f"  compte acheteur        : {demo.DEMO_BUYER_EMAIL} / {demo.DEMO_BUYER_PASSWORD}",
                    f"  compte entreprise      : {demo.DEMO_COMPANY_EMAIL} / {demo.DEMO_COMPANY_PASSWORD}",
                    "  (ou connexion par code : le code est affiché dans la console du serveur web)",
                    f"  administration         : http://127.0.0.1:8000/admin/ — {demo.DEMO_ADMIN_EMAIL} / "
                    f"{demo.DEMO_ADMIN_PASSWORD}",
                    f"  opérateur (lecture)    : {demo.DEMO_OPERATOR_EMAIL} / {demo.DEMO_OPERATOR_PASSWORD}",
                    "  entreprises du bac à sable :",
                    f"    {personas.DEMO_SIRET}  dossier complet (identité, CA, attestations URSSAF et DGFIP)",
                    f"    {personas.URSSAF_REFUSED_SIRET}  attestation URSSAF refusée",
                    f"    {personas.CLOSED_SIRET}  établissement fermé",
                    f"    {personas.LIQUIDATION_SIRET}  en liquidation judiciaire (BODACC)",
                    f"    {personas.BTP_SIRET}  entreprise du BTP : PRO BTP, CIBTP, FNTP, Qualibat",
                    f"    {personas.BTP_NON_A_JOUR_SIRET}  BTP : congés payés (CIBTP) et PRO BTP pas à jour",
                    f"    {personas.INGENIERIE_SIRET}  ingénierie et formation : OPQIBI, Qualiopi",
                    f"    {personas.NON_DIFFUSIBLE_SIRET}  entrepreneur non diffusible : identité protégée pour "
                    "l'acheteur non habilité",
                    f"    {personas.UNKNOWN_SIRET}  SIRET inconnu",
                    "  essai : .venv/bin/python manage.py assemble_dossier "
                    f"--siret {personas.DEMO_SIRET} --buyer-siret {organisation.siret} --json",
                    f"  plateforme de démonstration (API) : {demo.DEMO_PLATFORM_NAME}, agit pour {organisation.siret}",
                    f"    client_id {demo.DEMO_PLATFORM_CLIENT_ID} / secret {demo.DEMO_PLATFORM_CLIENT_SECRET}",
                    f"    webhooks : {demo.DEMO_PLATFORM_WEBHOOK_URL} — secret de signature "
                    f"{demo.DEMO_PLATFORM_WEBHOOK_SECRET}",
                    "    documentation : docs/API.md et http://127.0.0.1:8000/api/docs/",
                ]
            )
        )

    @staticmethod
    def _verified_user(email: str, password: str):
        """A demo account whose address is already verified (allauth asks for it before the first login)."""
        user_model = get_user_model()
        user = user_model.objects.filter(email=email).first()
        if user is None:
            user = user_model.objects.create_user(username=email, email=email, password=password)
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        return user
