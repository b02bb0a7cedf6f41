"""`assemble_dossier`: bad input exits 2 in French and calls nothing."""

from __future__ import annotations

import pytest
import responses
from django.core.management import call_command

from candidatures.models import Candidature, Organisation

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
