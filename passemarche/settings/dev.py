from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# The demo platform of `make run` receives its webhooks on loopback (platforms/demo_platform.py).
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=True)
