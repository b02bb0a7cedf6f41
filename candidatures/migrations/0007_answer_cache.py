# The answer cache (candidatures/answer_cache.py): where a served answer came from, and the refresh that bypasses it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("candidatures", "0006_vigilance"),
    ]

    operations = [
        migrations.AddField(
            model_name="sourcefetch",
            name="bypass_cache",
            field=models.BooleanField(default=False, verbose_name="actualisation sans cache"),
        ),
        migrations.AddField(
            model_name="sourcefetch",
            name="cached_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="candidatures.sourcefetch",
                verbose_name="réponse partagée de",
            ),
        ),
    ]
