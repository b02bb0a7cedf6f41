from django.apps import AppConfig


class ProConnectConfig(AppConfig):
    """An app so that allauth's provider registry finds `provider.py` (it looks in every installed app)."""

    name = "candidatures.proconnect"
    label = "proconnect"
    verbose_name = "ProConnect"
