from .base import *  # noqa: F403
from .base import CONTENT_SECURITY_POLICY, env

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
API_ENTREPRISE_BASE_URL = env("API_ENTREPRISE_BASE_URL", default="https://entreprise.api.gouv.fr")
API_ENTREPRISE_TOKEN = env("API_ENTREPRISE_TOKEN")
BODACC_BASE_URL = env("BODACC_BASE_URL", default="https://bodacc-datadila.opendatasoft.com/api/explore/v2.1")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# `__Host-` cookies: HTTPS only, for this exact host, on every path; no subdomain can set or read them.
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
CONTENT_SECURITY_POLICY = {"DIRECTIVES": {**CONTENT_SECURITY_POLICY["DIRECTIVES"], "upgrade-insecure-requests": True}}
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
# SSRF: a webhook never reaches loopback, private, link-local or reserved addresses in production.
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
