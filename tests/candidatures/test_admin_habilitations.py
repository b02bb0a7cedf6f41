"""The admins' console for habilitations: the rules of a grant, the legal-framework document, expiry, the end of a
habilitation (never a deletion), the trail of what the admins did, and the two admin roles."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from candidatures import habilitations, selectors
from candidatures.habilitations import AIDES_PUBLIQUES, MARCHES_PUBLICS, grant_errors
from candidatures.models import Habilitation, Organisation

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n% cadre juridique de test\n%%EOF\n"
OPERATOR = "Opérateurs (lecture seule)"
HABILITATION_ADMIN = "Administrateurs des habilitations"
FORBIDDEN = ["bdf_bilans_entreprise", "dgfip_liasses_fiscales"]


def today():
    return timezone.localdate()


@pytest.fixture
def paris(db):
    return Organisation.objects.create(siret="21750001600019", name="Ville de Paris")


@pytest.fixture
def lyon(db):
    return Organisation.objects.create(siret="21690123100011", name="Ville de Lyon")


@pytest.fixture
def marseille(db):
    return Organisation.objects.create(siret="21130055300016", name="Ville de Marseille")


def grant(organisation, *, starts_on=None, ends_on=None, sources=("bodacc",), use_case=MARCHES_PUBLICS, **extra):
    return Habilitation.objects.create(
        organisation=organisation,
        use_case=use_case,
        sources=list(sources),
        starts_on=starts_on or today() - timedelta(days=100),
        ends_on=ends_on,
        **extra,
    )


def staff_client(username: str, *, group: str | None = None) -> tuple[Client, object]:
    user = get_user_model().objects.create_user(username=username, email=f"{username}@example.gouv.fr", is_staff=True)
    if group is not None:
        user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client, user


def habilitation_post(organisation, **overrides) -> dict:
    data = {
        "organisation": organisation.pk,
        "use_case": MARCHES_PUBLICS,
        "sources": ["bodacc", "insee_etablissement"],
        "cadre_juridique": "Code de la commande publique, articles R. 2143-3 et suivants.",
        "starts_on": today().isoformat(),
        "ends_on": "",
        "granted_by": "",
        "_save": "Enregistrer",
    }
    data.update(overrides)
    return data


def form_errors(response) -> dict:
    return response.context["adminform"].form.errors


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


# --- The rules of a grant ------------------------------------------------------------------------------


def test_bdf_bilans_and_dgfip_liasses_are_refused_for_marches_publics():
    errors = grant_errors(use_case=MARCHES_PUBLICS, sources=["bodacc", *FORBIDDEN], starts_on=None, ends_on=None)

    assert set(errors) == {"sources"}
    message = str(errors["sources"])
    assert "ne sont pas ouvertes aux marchés publics" in message
    assert "3 derniers bilans (Banque de France)" in message
    assert "Liasses fiscales (DGFIP)" in message


@pytest.mark.parametrize("key", FORBIDDEN)
def test_each_forbidden_family_alone_is_refused_for_marches_publics(key):
    errors = grant_errors(use_case=MARCHES_PUBLICS, sources=[key], starts_on=None, ends_on=None)

    assert habilitations.NOT_FOR_MARCHES_PUBLICS[key].label in str(errors["sources"])


def test_bdf_bilans_and_dgfip_liasses_are_accepted_for_aides_publiques():
    assert grant_errors(use_case=AIDES_PUBLIQUES, sources=["bodacc", *FORBIDDEN], starts_on=None, ends_on=None) == {}


def test_an_unknown_data_key_is_refused():
    errors = grant_errors(
        use_case=AIDES_PUBLIQUES, sources=["bodacc", "fichier_des_impayes"], starts_on=None, ends_on=None
    )

    assert set(errors) == {"sources"}
    assert "Données inconnues du catalogue" in str(errors["sources"])
    assert "fichier_des_impayes" in str(errors["sources"])


def test_unknown_and_forbidden_keys_are_both_reported():
    errors = grant_errors(
        use_case=MARCHES_PUBLICS, sources=["fichier_des_impayes", "bdf_bilans_entreprise"], starts_on=None, ends_on=None
    )

    assert "fichier_des_impayes" in str(errors["sources"])
    assert "3 derniers bilans (Banque de France)" in str(errors["sources"])


def test_an_end_before_the_start_is_refused():
    errors = grant_errors(
        use_case=MARCHES_PUBLICS, sources=["bodacc"], starts_on=today(), ends_on=today() - timedelta(days=1)
    )

    assert set(errors) == {"ends_on"}
    assert "ne peut pas précéder son début" in str(errors["ends_on"])
    assert grant_errors(use_case=MARCHES_PUBLICS, sources=["bodacc"], starts_on=today(), ends_on=today()) == {}


def test_full_clean_applies_the_same_rules(paris):
    habilitation = Habilitation(
        organisation=paris,
        use_case=MARCHES_PUBLICS,
        sources=["bdf_bilans_entreprise"],
        starts_on=today(),
        ends_on=today() - timedelta(days=1),
    )

    with pytest.raises(ValidationError) as raised:
        habilitation.full_clean()

    assert set(raised.value.message_dict) == {"sources", "ends_on"}
    assert "Banque de France" in raised.value.message_dict["sources"][0]

    habilitation.use_case = AIDES_PUBLIQUES
    habilitation.ends_on = None
    habilitation.full_clean()  # the same data, for aides publiques and with no end: valid


# --- Granting in the admin -----------------------------------------------------------------------------


def test_the_add_form_refuses_bdf_bilans_for_marches_publics(admin_client, paris):
    response = admin_client.post(
        reverse("admin:candidatures_habilitation_add"), habilitation_post(paris, sources=["bdf_bilans_entreprise"])
    )

    assert response.status_code == 200
    assert "sources" in form_errors(response)
    assert "ne sont pas ouvertes aux marchés publics" in response.content.decode()
    assert not Habilitation.objects.filter(organisation=paris).exists()


def test_the_add_form_refuses_an_end_before_the_start(admin_client, paris):
    response = admin_client.post(
        reverse("admin:candidatures_habilitation_add"),
        habilitation_post(paris, ends_on=(today() - timedelta(days=1)).isoformat()),
    )

    assert response.status_code == 200
    assert "ends_on" in form_errors(response)
    assert not Habilitation.objects.filter(organisation=paris).exists()


def test_a_valid_grant_is_created_and_signed_by_the_admin(admin_client, admin_user, paris):
    response = admin_client.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(paris))

    assert response.status_code == 302
    habilitation = Habilitation.objects.get(organisation=paris)
    assert sorted(habilitation.sources) == ["bodacc", "insee_etablissement"]
    assert habilitation.starts_on == today() and habilitation.ends_on is None
    assert habilitation.granted_by == admin_user.email == "admin@example.com"
    assert selectors.habilitated_sources(organisation=paris) == {"bodacc", "insee_etablissement"}


def test_granted_by_falls_back_to_the_username_and_keeps_a_typed_value(client, paris, lyon):
    get_user_model().objects.create_superuser(username="sansadresse", email="", password="x")
    client.force_login(get_user_model().objects.get(username="sansadresse"))

    client.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(paris))
    client.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(lyon, granted_by="Décision n° 42"))

    assert Habilitation.objects.get(organisation=paris).granted_by == "sansadresse"
    assert Habilitation.objects.get(organisation=lyon).granted_by == "Décision n° 42"


def test_the_legal_framework_pdf_is_stored_and_downloadable(admin_client, paris):
    response = admin_client.post(
        reverse("admin:candidatures_habilitation_add"),
        habilitation_post(paris, document=SimpleUploadedFile("convention.pdf", PDF, content_type="application/pdf")),
    )

    assert response.status_code == 302
    habilitation = Habilitation.objects.get(organisation=paris)
    assert habilitation.cadre_juridique_document.name.startswith("habilitations/")
    url = reverse("admin:candidatures_habilitation_document", args=[habilitation.pk])
    change_page = admin_client.get(reverse("admin:candidatures_habilitation_change", args=[habilitation.pk]))
    assert url in change_page.content.decode()

    download = admin_client.get(url)

    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert "cadre-juridique" in download["Content-Disposition"]
    assert streamed(download) == PDF


def test_a_fake_pdf_is_refused_with_the_form_error(admin_client, paris):
    fake = SimpleUploadedFile("convention.pdf", b"ceci n'est pas un PDF", content_type="application/pdf")

    response = admin_client.post(
        reverse("admin:candidatures_habilitation_add"), habilitation_post(paris, document=fake)
    )

    assert response.status_code == 200
    assert "n'est ni un PDF" in " ".join(form_errors(response)["document"])
    assert not Habilitation.objects.filter(organisation=paris).exists()


def test_an_image_is_refused_as_the_legal_framework_text(admin_client, paris):
    png = SimpleUploadedFile("convention.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, content_type="application/pdf")

    response = admin_client.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(paris, document=png))

    assert response.status_code == 200
    assert "n'est pas un PDF" in " ".join(form_errors(response)["document"])
    assert not Habilitation.objects.filter(organisation=paris).exists()


@pytest.fixture
def with_document(paris):
    habilitation = grant(paris)
    habilitation.cadre_juridique_document.save("convention.pdf", ContentFile(PDF))
    return habilitation


def test_the_document_is_404_for_staff_without_view_permission(admin_client, with_document):
    url = reverse("admin:candidatures_habilitation_document", args=[with_document.pk])
    assert streamed(admin_client.get(url)) == PDF

    staff, _user = staff_client("sansdroits")

    assert staff.get(url).status_code == 404


def test_the_document_sends_non_staff_and_anonymous_users_to_the_login(client, with_document):
    url = reverse("admin:candidatures_habilitation_document", args=[with_document.pk])

    anonymous = client.get(url)
    client.force_login(get_user_model().objects.create_user(username="acheteur", email="a@example.gouv.fr"))
    signed_in = client.get(url)

    assert anonymous.status_code == 302 and signed_in.status_code == 302
    assert "cadre-juridique" not in anonymous.get("Content-Disposition", "")


def test_no_document_is_404(admin_client, paris):
    habilitation = grant(paris)

    assert (
        admin_client.get(reverse("admin:candidatures_habilitation_document", args=[habilitation.pk])).status_code == 404
    )


# --- Ended, never deleted ------------------------------------------------------------------------------


def test_a_habilitation_cannot_be_deleted(admin_client, paris):
    habilitation = grant(paris)
    url = reverse("admin:candidatures_habilitation_delete", args=[habilitation.pk])

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Habilitation.objects.filter(pk=habilitation.pk).exists()
    changelist = admin_client.get(reverse("admin:candidatures_habilitation_changelist"))
    actions = [name for name, _label in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert "end_today" in actions


def test_an_organisation_cannot_be_deleted(admin_client, paris):
    url = reverse("admin:candidatures_organisation_delete", args=[paris.pk])

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert Organisation.objects.filter(pk=paris.pk).exists()


# --- Expiry --------------------------------------------------------------------------------------------


@pytest.fixture
def expiries(paris, lyon, marseille):
    return {
        "soon": grant(paris, ends_on=today() + timedelta(days=10)),
        "later": grant(lyon, ends_on=today() + timedelta(days=90)),
        "ended": grant(marseille, ends_on=today() - timedelta(days=5)),
    }


def listed(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def test_the_changelist_warns_of_a_habilitation_expiring_within_30_days(admin_client, expiries):
    response = admin_client.get(reverse("admin:candidatures_habilitation_changelist"))

    warnings = [str(message) for message in response.context["messages"]]
    soon = expiries["soon"].ends_on
    assert warnings == [f"1 habilitation expire dans les 30 jours : Ville de Paris ({soon:%d/%m/%Y})."]
    assert "Ville de Paris" in response.content.decode()


def test_no_warning_without_a_habilitation_expiring_soon(admin_client, lyon, marseille):
    grant(lyon, ends_on=today() + timedelta(days=90))
    grant(marseille, ends_on=today() - timedelta(days=5))

    response = admin_client.get(reverse("admin:candidatures_habilitation_changelist"))

    assert list(response.context["messages"]) == []


def test_the_expiring_soon_filter(admin_client, expiries):
    response = admin_client.get(reverse("admin:candidatures_habilitation_changelist"), {"echeance": "bientot"})

    assert listed(response) == {expiries["soon"].pk}


def test_the_expired_filter(admin_client, expiries):
    response = admin_client.get(reverse("admin:candidatures_habilitation_changelist"), {"echeance": "expiree"})

    assert listed(response) == {expiries["ended"].pk}


def test_the_list_says_how_many_days_are_left(admin_client, expiries):
    content = admin_client.get(reverse("admin:candidatures_habilitation_changelist")).content.decode()

    assert "expire dans 10 jours" in content
    assert ">expirée<" in content


# --- Ending a habilitation -----------------------------------------------------------------------------


def end_today(client, *habilitations_to_end):
    return client.post(
        reverse("admin:candidatures_habilitation_changelist"),
        {"action": "end_today", "index": "0", "_selected_action": [h.pk for h in habilitations_to_end]},
    )


def test_end_today_ends_the_habilitation_yesterday(admin_client, paris):
    habilitation = grant(paris, sources=["bodacc", "insee_etablissement"])
    assert selectors.habilitated_sources(organisation=paris) == {"bodacc", "insee_etablissement"}

    response = end_today(admin_client, habilitation)

    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.ends_on == today() - timedelta(days=1)
    assert selectors.habilitated_sources(organisation=paris) == set()
    assert not habilitation.is_active_on(today())


def test_end_today_is_logged_with_the_admin_and_shown_read_only(admin_client, admin_user, paris):
    habilitation = grant(paris)

    end_today(admin_client, habilitation)

    entry = LogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(Habilitation), object_id=str(habilitation.pk)
    )
    assert entry.user == admin_user
    assert entry.action_flag == CHANGE
    assert f"Fin de l'habilitation au {today() - timedelta(days=1):%d/%m/%Y}" in entry.change_message

    changelist = admin_client.get(reverse("admin:admin_logentry_changelist"))
    assert changelist.status_code == 200
    assert entry.pk in listed(changelist)
    assert admin_client.get(reverse("admin:admin_logentry_add")).status_code == 403
    assert admin_client.post(reverse("admin:admin_logentry_change", args=[entry.pk]), {}).status_code == 403
    assert (
        admin_client.post(reverse("admin:admin_logentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk, change_message=entry.change_message).exists()


# --- The two admin roles -------------------------------------------------------------------------------


def codenames(group_name: str) -> set[str]:
    return set(Group.objects.get(name=group_name).permissions.values_list("codename", flat=True))


def test_the_operator_group_may_view_every_model_and_change_nothing():
    granted = codenames(OPERATOR)

    assert all(codename.startswith("view_") for codename in granted)
    for model in apps.get_app_config("candidatures").get_models():
        assert f"view_{model._meta.model_name}" in granted, model
    assert "view_logentry" in granted


def test_the_habilitation_admin_group_grants_and_ends_but_never_deletes():
    granted = codenames(HABILITATION_ADMIN)

    assert codenames(OPERATOR) <= granted
    assert {"add_habilitation", "change_habilitation", "add_organisation", "change_organisation"} <= granted
    assert "delete_habilitation" not in granted
    assert "delete_organisation" not in granted
    audit_trail = {codename for codename in granted if codename.endswith(("upstreamcall", "dossieraccess", "logentry"))}
    assert audit_trail == {"view_upstreamcall", "view_dossieraccess", "view_logentry"}  # the trail stays read-only


def test_an_operator_reads_but_cannot_grant_change_or_end(paris):
    habilitation = grant(paris)
    operator, _user = staff_client("operateur", group=OPERATOR)

    assert operator.get(reverse("admin:candidatures_upstreamcall_changelist")).status_code == 200
    assert operator.get(reverse("admin:candidatures_habilitation_changelist")).status_code == 200
    assert operator.get(reverse("admin:candidatures_habilitation_add")).status_code == 403
    assert operator.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(paris)).status_code == 403

    response = operator.post(
        reverse("admin:candidatures_organisation_change", args=[paris.pk]),
        {"name": "Renommée", "siret": paris.siret},
    )
    assert response.status_code == 403
    paris.refresh_from_db()
    assert paris.name == "Ville de Paris"

    end_today(operator, habilitation)
    habilitation.refresh_from_db()
    assert habilitation.ends_on is None
    assert Habilitation.objects.filter(organisation=paris).count() == 1


def test_a_habilitation_admin_grants_but_cannot_delete(paris):
    admin, user = staff_client("gestionnaire", group=HABILITATION_ADMIN)

    assert admin.get(reverse("admin:candidatures_habilitation_add")).status_code == 200
    response = admin.post(reverse("admin:candidatures_habilitation_add"), habilitation_post(paris))

    assert response.status_code == 302
    habilitation = Habilitation.objects.get(organisation=paris)
    assert habilitation.granted_by == user.email
    url = reverse("admin:candidatures_habilitation_delete", args=[habilitation.pk])
    assert admin.get(url).status_code == 403
    assert admin.post(url, {"post": "yes"}).status_code == 403
    assert Habilitation.objects.filter(pk=habilitation.pk).exists()
