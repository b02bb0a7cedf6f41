"""The error pages speak French in the portal's layout (never Django's English, unstyled pages)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.template.loader import get_template
from django.urls import reverse

pytestmark = pytest.mark.django_db


def assert_french_error_page(content: str, *, heading: str) -> None:
    assert '<html lang="fr"' in content
    assert re.search(rf"<h1[^>]*>\s*{heading}\s*</h1>", content), content[:3000]
    assert "Page d’accueil" in content and 'href="/"' in content
    assert "Passe Marché" in content and "fr-header" in content  # the portal's DSFR layout
    assert "Not Found" not in content and "Forbidden" not in content and "Bad Request" not in content
    assert " style=" not in content and "<style" not in content and "<script>" not in content


@pytest.fixture
def signed_in(client):
    user = get_user_model().objects.create_user(username="a@entreprise.test", email="a@entreprise.test", password="x")
    client.force_login(user)
    return user


def test_an_unknown_address_gets_the_french_404_page(client, settings):
    settings.DEBUG = False

    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    content = response.content.decode()
    assert_french_error_page(content, heading="Page introuvable")
    assert "Erreur 404" in content


def test_a_candidature_that_is_not_yours_gets_the_french_404_page(client, settings, candidature, signed_in):
    settings.DEBUG = False

    response = client.get(reverse("candidature", args=[candidature.pk]))

    assert response.status_code == 404
    content = response.content.decode()
    assert_french_error_page(content, heading="Page introuvable")
    assert candidature.siret not in content
    assert reverse("dashboard") in content  # signed in: a way back to one's own space


def test_a_refused_access_gets_the_french_403_page(client, settings, signed_in):
    settings.DEBUG = False

    response = client.get("/admin/login/")  # signed in, not staff: passemarche/urls.py raises PermissionDenied

    assert response.status_code == 403
    content = response.content.decode()
    assert_french_error_page(content, heading="Accès refusé")
    assert "Erreur 403" in content


def test_a_bad_request_gets_the_french_400_page(client, settings):
    settings.DEBUG = False

    response = client.get("/", headers={"host": "inconnu.example"})  # DisallowedHost: a SuspiciousOperation

    assert response.status_code == 400
    content = response.content.decode()
    assert_french_error_page(content, heading="Requête incorrecte")
    assert "Erreur 400" in content


def test_the_500_page_renders_without_context_in_french():
    content = get_template("500.html").render()

    assert '<html lang="fr"' in content
    assert re.search(r"<h1[^>]*>\s*Erreur inattendue\s*</h1>", content)
    assert "Erreur 500" in content and "Désolé, le service rencontre un problème" in content
    assert 'href="/"' in content and "/static/dsfr/dist/dsfr/dsfr.min.css" in content
    assert "Server Error" not in content
    assert " style=" not in content and "<style" not in content and "<script" not in content
