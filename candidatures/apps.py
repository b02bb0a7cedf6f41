from django.apps import AppConfig


class CandidaturesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "candidatures"
    verbose_name = "Candidatures"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
