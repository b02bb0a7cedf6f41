import os

from celery import Celery
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
