"""Facts of the domain that other parts listen to (the webhooks of the buyer platforms, in `platforms`).

Sent inside the transaction that makes the fact true, so a listener's writes commit or roll back with it.
"""

from django.dispatch import Signal

# sender=Consultation, consultation=…
consultation_published = Signal()
# sender=Candidature, candidature=… : every source has answered (again, after a refresh).
dossier_completed = Signal()
# sender=ExclusionFlag, flag=… : a flag the candidature did not have.
flag_raised = Signal()
# sender=Candidature, candidature=…
candidature_submitted = Signal()
