from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions

from ..models import ApiClient


class ApiClientAuthentication(OAuth2Authentication):
    """A valid bearer token of an active API client; `request.auth` is the token, `request.api_client` its client.

    Without a token the request is anonymous (the permission answers 401 `not_authenticated`); with a token that is
    unknown, expired or revoked, or of an inactive client, it is refused (401 `invalid_token`).
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        result = super().authenticate(request)
        if result is None:
            if header:
                raise exceptions.AuthenticationFailed(code="invalid_token")
            return None
        _user, token = result
        client = ApiClient.objects.filter(application_id=token.application_id).first()
        if client is None or not client.is_active:
            raise exceptions.AuthenticationFailed(code="invalid_token")
        request.api_client = client
        request._request.api_client = client
        # A platform is not a person: no user; the client is the actor (request.api_client).
        return AnonymousUser(), token
