from . import admin_webhooks  # noqa: F401, I001 (the webhooks' admin lives apart)

# The admin of the API clients: created, revoked and given a new secret only through platforms.services, so the
# secret exists in clear once (the response that shows it) and tokens are revoked with the client.

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from oauth2_provider.models import AccessToken, Application, Grant, IDToken, RefreshToken

from . import services
from .admin_shown_once import SecretShownOnceMixin, Shown
from .models import ApiClient

# Tokens and secrets are handled only through the API clients below: django-oauth-toolkit's own pages would let an
# admin create an application outside an API client, or edit a secret.
for oauth_model in (Application, AccessToken, RefreshToken, Grant, IDToken):
    if admin.site.is_registered(oauth_model):
        admin.site.unregister(oauth_model)


def _scope_choices() -> list[tuple[str, str]]:
    return [(scope, f"{label} ({scope})") for scope, label in settings.API_SCOPES.items()]


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("Portées autorisées"),
        choices=_scope_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Ce que la plateforme peut faire ; elle n'obtient jamais d'autres portées."),
    )

    class Meta:
        model = ApiClient
        fields = ("name", "organisations", "scopes", "contact_email", "is_active")

    def clean_scopes(self) -> list[str]:
        return services.clean_scopes(self.cleaned_data["scopes"])


def _live_tokens():
    live = (
        AccessToken.objects.filter(application_id=OuterRef("application_id"), expires__gt=timezone.now())
        .order_by()
        .values("application_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(live, output_field=IntegerField()), 0)


@admin.register(ApiClient)
class ApiClientAdmin(SecretShownOnceMixin, admin.ModelAdmin):
    form = ApiClientForm
    list_display = ("name", "client_id", "is_active", "live_tokens", "contact_email", "created_at", "revoked_at")
    list_filter = ("is_active", ("organisations", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "application__client_id", "organisations__name", "organisations__siret")
    list_select_related = ("application",)
    filter_horizontal = ("organisations",)
    actions = ["revoke_selected", "rotate_secret"]
    add_fieldsets = ((None, {"fields": ("name", "organisations", "scopes", "contact_email")}),)
    fieldsets = (
        (None, {"fields": ("name", "client_id", "organisations", "scopes", "contact_email")}),
        (_("Accès"), {"fields": ("is_active", "live_tokens", "created_at", "revoked_at")}),
    )

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("client_id", "live_tokens", "created_at", "revoked_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(live_token_count=_live_tokens())

    def has_delete_permission(self, request, obj=None):
        # A client is revoked, never deleted: its deliveries and the trail of what it did stay on record (and
        # deleting the row would leave its OAuth2 application behind).
        return False

    @admin.display(description=_("identifiant client (client_id)"), ordering="application__client_id")
    def client_id(self, obj: ApiClient) -> str:
        return obj.application.client_id

    @admin.display(description=_("jetons en cours"), ordering="live_token_count")
    def live_tokens(self, obj: ApiClient) -> int:
        count = getattr(obj, "live_token_count", None)
        if count is None:
            count = AccessToken.objects.filter(application_id=obj.application_id, expires__gt=timezone.now()).count()
        return count

    def save_model(self, request, obj, form, change):
        if not change:
            # Through the service: the OAuth2 application, its hashed secret and the row come together.
            client, secret = services.api_client_create(
                name=form.cleaned_data["name"],
                organisations=form.cleaned_data["organisations"],
                scopes=form.cleaned_data["scopes"],
                contact_email=form.cleaned_data["contact_email"],
            )
            obj.pk = client.pk
            obj.refresh_from_db()
            obj._state.adding = False
            request._api_client_secret = secret
            return
        wanted_active = obj.is_active
        activation_changed = "is_active" in form.changed_data
        if activation_changed:
            # The activation changes only through the services (which revoke the tokens), below.
            obj.is_active = not wanted_active
        super().save_model(request, obj, form, change)
        if not activation_changed:
            return
        if wanted_active:
            services.api_client_activate(client=obj)
            return
        revoked = services.api_client_revoke(client=obj)
        self.message_user(
            request,
            ngettext(
                "Client désactivé : %(count)s jeton révoqué.", "Client désactivé : %(count)s jetons révoqués.", revoked
            )
            % {"count": revoked},
            messages.SUCCESS,
        )

    def save_related(self, request, form, formsets, change):
        if change:  # at creation, the service set the organisations
            super().save_related(request, form, formsets, change)

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_response(request, obj, request._api_client_secret, created=True)

    def _secret_response(self, request, client: ApiClient, secret: str, *, created: bool):
        if created:
            title = _("Client créé : %(name)s") % {"name": client.name}
            first = _("Le client est créé. Transmettez son identifiant et son secret à la plateforme par un canal sûr.")
        else:
            title = _("Nouveau secret : %(name)s") % {"name": client.name}
            first = _(
                "L'ancien secret ne fonctionne plus et les jetons obtenus avec lui sont révoqués. Transmettez le "
                "nouveau secret à la plateforme par un canal sûr."
            )
        return self.secret_response(
            request,
            client,
            title=title,
            shown=[
                Shown(name="client_id", label=_("Identifiant client (client_id)"), value=client.client_id),
                Shown(name="secret", label=_("Secret (client_secret)"), value=secret),
            ],
            explanations=[first, _("Seule une empreinte du secret est conservée : s'il est perdu, régénérez-le.")],
            continue_label=_("Continuer vers la fiche du client"),
        )

    @admin.action(description=_("Révoquer les clients sélectionnés"), permissions=["change"])
    def revoke_selected(self, request, queryset):
        clients = tokens = 0
        for client in queryset.filter(is_active=True):
            tokens += services.api_client_revoke(client=client)
            self.log_change(request, client, _("Client révoqué."))
            clients += 1
        self.message_user(
            request,
            ngettext("%(clients)s client révoqué", "%(clients)s clients révoqués", clients) % {"clients": clients}
            + ngettext(" (%(tokens)s jeton révoqué).", " (%(tokens)s jetons révoqués).", tokens) % {"tokens": tokens},
            messages.SUCCESS,
        )

    @admin.action(description=_("Régénérer le secret"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        clients = list(queryset[:2])
        if len(clients) != 1:
            self.message_user(request, _("Choisissez un seul client pour régénérer son secret."), messages.ERROR)
            return None
        client = clients[0]
        secret = services.api_client_secret_rotate(client=client)
        self.log_change(request, client, _("Secret régénéré ; les jetons en cours sont révoqués."))
        return self._secret_response(request, client, secret, created=False)
