"""The admin roles of candidatures 0005 over the platforms' models: operators read the API clients, webhooks and
their deliveries; the habilitations' admins manage the API clients and their webhooks, and re-send deliveries.

Permissions are created after migrations by a post_migrate signal; on a fresh database they do not exist yet
when this runs, so they are created here first (`create_permissions` is idempotent).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR = "Opérateurs (lecture seule)"
HABILITATION_ADMIN = "Administrateurs des habilitations"

VIEWED = ("apiclient", "webhookendpoint", "webhookdelivery", "webhookattempt")
MANAGED = {
    "apiclient": ("add", "change", "delete", "view"),
    "webhookendpoint": ("add", "change", "delete", "view"),
    "webhookdelivery": ("change", "view"),
    "webhookattempt": ("view",),
}


def _permissions(apps, codenames: list[str]):
    Permission = apps.get_model("auth", "Permission")
    return list(Permission.objects.filter(content_type__app_label="platforms", codename__in=codenames))


def _ensure_permissions(apps) -> None:
    app_config = apps.get_app_config("platforms")
    # Historical app configs have no models module; create_permissions skips such apps otherwise.
    models_module = getattr(app_config, "models_module", None)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = models_module


def grant(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    operator, _ = Group.objects.get_or_create(name=OPERATOR)
    operator.permissions.add(*_permissions(apps, [f"view_{model}" for model in VIEWED]))
    admin, _ = Group.objects.get_or_create(name=HABILITATION_ADMIN)
    managed = [f"{action}_{model}" for model, actions in MANAGED.items() for action in actions]
    admin.permissions.add(*_permissions(apps, managed))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    every = [f"{action}_{model}" for model in VIEWED for action in ("add", "change", "delete", "view")]
    for group in Group.objects.filter(name__in=[OPERATOR, HABILITATION_ADMIN]):
        group.permissions.remove(*_permissions(apps, every))


class Migration(migrations.Migration):
    dependencies = [
        ("platforms", "0001_initial"),
        ("candidatures", "0005_admin_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
