import os

from celery import Celery, signals
from kombu.transport import TRANSPORT_ALIASES

# `filesystem://` means our atomic variant of kombu's transport (see passemarche/broker.py).
TRANSPORT_ALIASES["filesystem"] = "passemarche.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "passemarche.settings.dev")

app = Celery("passemarche")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _ensure_filesystem_broker_folders(sender, **kwargs):
    # The filesystem transport expects its folders to exist; create them so a fresh clone just works.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _redact_secrets_in_worker_logs(logger, **kwargs):
    """Mask secrets in the worker's logs too.

    With CELERY_WORKER_HIJACK_ROOT_LOGGER = False the worker keeps the handlers of settings.LOGGING (filtered);
    the handlers Celery adds itself (its task logger's, or the root's when LOGGING has none, as in the tests)
    get the same filter here.
    """
    from passemarche.logging import RedactSecretsFilter

    for handler in logger.handlers:
        if not any(isinstance(existing, RedactSecretsFilter) for existing in handler.filters):
            handler.addFilter(RedactSecretsFilter())
