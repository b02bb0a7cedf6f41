from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from oauth2_provider import views as oauth2_views

urlpatterns = [
    # Only the token endpoints of the OAuth2 server: platforms use client credentials, nobody authorises a grant.
    path("oauth/token/", oauth2_views.TokenView.as_view(), name="oauth2_token"),
    path("oauth/revoke/", oauth2_views.RevokeTokenView.as_view(), name="oauth2_revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api_schema"), name="api_docs"),
    path("v1/", include("platforms.api.urls")),
]
