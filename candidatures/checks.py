"""System checks of the portal's configuration (run by `manage.py check`, `--deploy` for production)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from connectors.ratelimit import parse_limits

from .antivirus import clamd_address


@register(Tags.security, deploy=True)
def clamav_required_check(app_configs, **kwargs) -> list[Error]:
    """In production every upload must be scanned: an empty CLAMAV_URL would store files unscanned."""
    if settings.CLAMAV_URL:
        return []
    return [
        Error(
            "CLAMAV_URL is empty: uploaded files would be stored without a virus scan.",
            hint="Install clamav-daemon (and freshclam) and set CLAMAV_URL=unix:///run/clamav/clamd.ctl.",
            id="candidatures.E001",
        )
    ]


@register(Tags.security)
def clamav_url_check(app_configs, **kwargs) -> list[Error]:
    """A malformed CLAMAV_URL would refuse every upload (fail closed): say so at start-up, not at the first."""
    if not settings.CLAMAV_URL:
        return []
    try:
        clamd_address(settings.CLAMAV_URL)
    except ValueError as error:
        return [Error(str(error), id="candidatures.E002")]
    return []


@register()
def upstream_rate_limits_check(app_configs, **kwargs) -> list[Error]:
    """A malformed API_ENTREPRISE_RATE_LIMITS would fail every upstream call: say so at start-up."""
    try:
        parse_limits(settings.API_ENTREPRISE_RATE_LIMITS, setting="API_ENTREPRISE_RATE_LIMITS")
    except ImproperlyConfigured as error:
        return [Error(str(error), id="candidatures.E003")]
    return []
