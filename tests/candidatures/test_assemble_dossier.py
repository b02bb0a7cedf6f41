"""`assemble_dossier`: bad input exits 2 in French and calls nothing."""

from __future__ import annotations

import json

import pytest
import responses
from django.core.management import call_command

from candidatures import demo, services
from candidatures.models import Candidature, ExclusionFlag, Organisation
from connectors import errors, registry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--siret", "123"], "Le SIRET doit comporter 14 chiffres (3 saisis)."),
        (["--siret", "55204944776278"], "clé de contrôle est incorrecte"),
        (["--siret", "5520494477627A"], "ne doit contenir que des chiffres"),
        (["--siret", "55204944776279", "--buyer-siret", "1300252650001"], "SIRET de l'acheteur invalide"),
        (
            ["--siret", "55204944776279", "--sources", "insee_etablissement,cadastre"],
            "Source(s) inconnue(s) : cadastre",
        ),
    ],
)
def test_invalid_input_exits_2_with_a_french_message_and_no_call(argv, message, capsys):
    with responses.RequestsMock() as mock, pytest.raises(SystemExit) as excinfo:
        call_command("assemble_dossier", *argv)

    assert excinfo.value.code == 2
    assert message in capsys.readouterr().err
    assert len(mock.calls) == 0
    assert Candidature.objects.count() == 0
    assert Organisation.objects.count() == 0


def test_a_dossier_still_incomplete_after_wait_exits_3_and_says_why(capsys, django_capture_on_commit_callbacks):
    """No worker answered (no broker here): the dossier is printed as it stands."""
    with django_capture_on_commit_callbacks() as enqueue_callbacks, pytest.raises(SystemExit) as excinfo:
        call_command("assemble_dossier", "--siret", "55204944776279", "--wait", "0.2", "--json")

    captured = capsys.readouterr()
    assert excinfo.value.code == 3
    assert "un worker Celery est-il démarré" in captured.err
    dossier = json.loads(captured.out)
    assert dossier["status"] == "in_progress"
    assert {source["status"] for source in dossier["sources"].values()} == {"pending"}
    assert len(enqueue_callbacks) == 1, "the fan-out is enqueued once, on commit"


@pytest.mark.parametrize("value", ["", "x" * 51])
def test_an_object_empty_or_too_long_exits_2(value, capsys):
    with pytest.raises(SystemExit) as excinfo:
        call_command("assemble_dossier", "--siret", "55204944776279", "--object", value)

    assert excinfo.value.code == 2
    assert "entre 1 et 50 caractères" in capsys.readouterr().err
    assert Candidature.objects.count() == 0


def test_the_summary_speaks_french_labels_not_codes(capsys, django_capture_on_commit_callbacks, enqueued):
    """Without --json, a person reads it: statuses, sources and flags in the words of the pages."""
    organisation, _ = services.organisation_get_or_create(siret=demo.DEMO_BUYER_SIRET)
    consultation = services.consultation_get_or_create(organisation=organisation, reference="assemble_dossier")
    with django_capture_on_commit_callbacks(execute=True):
        candidature, _ = services.candidature_start(consultation=consultation, siret="55204944776279")
    for fetch in candidature.fetches.all():
        services.fetch_store_failure(fetch=fetch, error=errors.NotFound("absent"))
    ExclusionFlag.objects.create(
        candidature=candidature, code="liquidation_judiciaire", severity="exclusion", ground="", source="bodacc"
    )

    call_command("assemble_dossier", "--siret", "55204944776279", "--wait", "1")

    out = capsys.readouterr().out
    assert "(Complet)" in out
    assert registry.label("bodacc") in out and "Non trouvé" in out
    assert "Motif d'exclusion : Liquidation judiciaire" in out
    for code in ("complete", "not_found", "liquidation_judiciaire", "(exclusion)"):
        assert code not in out
