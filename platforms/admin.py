from . import admin_webhooks  # noqa: F401 (the webhooks' admin lives apart)
