"""The two admin roles, as groups: a read-only operator and the admin who manages habilitations.

Permissions are created after migrations by a post_migrate signal; on a fresh database they do not exist yet
when this runs, so they are created here first (`create_permissions` is idempotent).
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR = "Opérateurs (lecture seule)"
HABILITATION_ADMIN = "Administrateurs des habilitations"

VIEWED = {
    "candidatures": (
        "organisation",
        "organisationmember",
        "habilitation",
        "consultation",
        "lot",
        "candidature",
        "companyidentity",
        "turnover",
        "sourcefetch",
        "upstreamcall",
        "dossieraccess",
        "document",
        "exclusionflag",
        "contestation",
        "contestationattachment",
    ),
    "admin": ("logentry",),
}
# Habilitations are ended, never deleted: the trail of what was granted stays.
MANAGED = {
    "candidatures": {
        "organisation": ("add", "change"),
        "organisationmember": ("add", "change", "delete"),
        "habilitation": ("add", "change"),
    }
}


def _permissions(apps, wanted: dict[str, dict[str, tuple[str, ...]]]):
    Permission = apps.get_model("auth", "Permission")
    codenames = [
        f"{action}_{model}" for models in wanted.values() for model, actions in models.items() for action in actions
    ]
    app_labels = list(wanted)
    return Permission.objects.filter(content_type__app_label__in=app_labels, codename__in=codenames)


def create_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module; create_permissions skips such apps otherwise.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    viewed = {app: {model: ("view",) for model in models} for app, models in VIEWED.items()}
    operator, _ = Group.objects.get_or_create(name=OPERATOR)
    operator.permissions.set(_permissions(apps, viewed))
    admin, _ = Group.objects.get_or_create(name=HABILITATION_ADMIN)
    admin.permissions.set(
        list(_permissions(apps, viewed))
        + list(_permissions(apps, {app: dict(models) for app, models in MANAGED.items()}))
    )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[OPERATOR, HABILITATION_ADMIN]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("candidatures", "0004_habilitations_audit"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
