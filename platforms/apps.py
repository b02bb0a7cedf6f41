from django.apps import AppConfig


class PlatformsConfig(AppConfig):
    """The buyer platforms (profils acheteurs): their API clients, the REST API they call, the webhooks they get.

    An app apart from `candidatures`: it has its own actors (machines, not people), its own authentication
    (OAuth2) and its own outbound channel; the domain never imports it, it listens to the domain's signals.
    """

    name = "platforms"
    verbose_name = "Plateformes des acheteurs (API)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 (connects the domain's signals to the webhooks)
