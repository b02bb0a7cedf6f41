from allauth.socialaccount.models import SocialApp, SocialToken
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import include, path, reverse
from django.utils.http import url_has_allowed_host_and_scheme


def admin_login(request, extra_context=None):
    """The admin has no sign-in form of its own: one protected sign-in for everyone, allauth's (rate limited).

    Signed-in staff go on to the admin; anybody else signed in is refused; the others sign in first.
    """
    next_url = request.GET.get(REDIRECT_FIELD_NAME, "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if admin.site.has_permission(request):
            return redirect(next_url)
        raise PermissionDenied
    return redirect_to_login(next_url, reverse("account_login"))


admin.site.login = admin_login
# ProConnect's client secret lives in the settings (environment), never in the database, and no provider token
# is stored (SOCIALACCOUNT_STORE_TOKENS = False): the admin does not offer to type or show them.
for model in (SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("comptes/", include("allauth.urls")),
    path("api/", include("platforms.urls")),
    path("", include("candidatures.urls")),
]
