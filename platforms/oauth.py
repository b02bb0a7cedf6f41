"""django-oauth-toolkit glue: a client obtains only the scopes its ApiClient allows, and only while active."""

from __future__ import annotations

from django.conf import settings
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes


def _api_client(application):
    return getattr(application, "api_client", None) if application is not None else None


class ClientScopes(BaseScopes):
    """Asking for no scope gives every scope the client is allowed; asking for more than allowed is refused."""

    def get_all_scopes(self):
        return dict(settings.API_SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        client = _api_client(application)
        if client is None or not client.is_active:
            return []
        return [scope for scope in client.scopes if scope in settings.API_SCOPES]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application=application, request=request)


class ClientValidator(OAuth2Validator):
    def authenticate_client(self, request, *args, **kwargs):
        """Right credentials are not enough: the application must be an active API client."""
        if not super().authenticate_client(request, *args, **kwargs):
            return False
        client = _api_client(request.client)
        return client is not None and client.is_active
