"""Writes of the platforms' side: API clients (their secret, their revocation) and webhook subscriptions."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import AccessToken, Application, RefreshToken

from candidatures.models import Organisation

from .models import ApiClient


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(scopes))
    unknown = [scope for scope in wanted if scope not in settings.API_SCOPES]
    if unknown:
        raise ValueError(f"Portées inconnues : {', '.join(unknown)}.")
    return [scope for scope in settings.API_SCOPES if scope in wanted]


def api_client_create(
    *,
    name: str,
    organisations: Iterable[Organisation],
    scopes: Iterable[str],
    contact_email: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[ApiClient, str]:
    """A confidential OAuth2 client (client credentials) and its API client row; returns the secret in clear,
    the only time it exists so (django-oauth-toolkit stores its hash). `client_id`/`client_secret`: the demo's."""
    secret = client_secret or generate_client_secret()
    with transaction.atomic():
        application = Application(
            name=name[:255],
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
            client_secret=secret,
            hash_client_secret=True,
        )
        if client_id:
            application.client_id = client_id
        application.save()
        client = ApiClient.objects.create(
            name=name, application=application, scopes=clean_scopes(scopes), contact_email=contact_email
        )
        client.organisations.set(organisations)
    return client, secret


def _tokens_revoke(client: ApiClient) -> int:
    refreshed = RefreshToken.objects.filter(application_id=client.application_id).delete()[0]
    return AccessToken.objects.filter(application_id=client.application_id).delete()[0] + refreshed


def api_client_secret_rotate(*, client: ApiClient) -> str:
    """A new secret (returned in clear, once); the old one and every token obtained with it stop working."""
    secret = generate_client_secret()
    with transaction.atomic():
        application = client.application
        application.client_secret = secret
        application.hash_client_secret = True
        application.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        _tokens_revoke(client)
    return secret


def api_client_revoke(*, client: ApiClient) -> int:
    """Deactivate the client: no new token, and its tokens revoked now. Returns how many tokens were revoked."""
    with transaction.atomic():
        ApiClient.objects.filter(pk=client.pk).update(is_active=False, revoked_at=timezone.now())
        client.refresh_from_db(fields=["is_active", "revoked_at"])
        return _tokens_revoke(client)


def api_client_activate(*, client: ApiClient) -> None:
    ApiClient.objects.filter(pk=client.pk).update(is_active=True, revoked_at=None)
    client.refresh_from_db(fields=["is_active", "revoked_at"])
