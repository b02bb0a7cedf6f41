"""ProConnect's URLs, included by `allauth.urls` (mounted at /comptes/).

They keep the paths of allauth's generic OpenID Connect provider with `provider_id` "proconnect": the callback
is the redirect URI declared to ProConnect, `{SITE_URL}/comptes/oidc/proconnect/login/callback/`.
"""

from django.urls import path

from . import PROVIDER_ID, views

urlpatterns = [
    path(f"oidc/{PROVIDER_ID}/login/", views.login, name=f"{PROVIDER_ID}_login"),
    path(f"oidc/{PROVIDER_ID}/login/callback/", views.callback, name=f"{PROVIDER_ID}_callback"),
]
