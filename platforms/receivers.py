"""The domain's facts (candidatures.signals) become webhook deliveries (platforms.webhooks).

The signals are sent inside the transaction that makes the fact true: the deliveries commit or roll back with it.
"""

from django.dispatch import receiver

from candidatures import signals

from . import webhooks
from .models import WebhookEvent


@receiver(signals.consultation_published, dispatch_uid="platforms.webhooks.consultation_published")
def consultation_published(sender, consultation, **kwargs) -> None:
    webhooks.consultation_published_emit(consultation=consultation)


@receiver(signals.dossier_completed, dispatch_uid="platforms.webhooks.dossier_completed")
def dossier_completed(sender, candidature, **kwargs) -> None:
    webhooks.candidature_event_emit(candidature=candidature, event=WebhookEvent.CANDIDATURE_DOSSIER_COMPLETE)


@receiver(signals.candidature_submitted, dispatch_uid="platforms.webhooks.candidature_submitted")
def candidature_submitted(sender, candidature, **kwargs) -> None:
    webhooks.candidature_event_emit(candidature=candidature, event=WebhookEvent.CANDIDATURE_SUBMITTED)


@receiver(signals.flag_raised, dispatch_uid="platforms.webhooks.flag_raised")
def flag_raised(sender, flag, **kwargs) -> None:
    webhooks.flag_raised_emit(flag=flag)
