"""The admin page that shows a secret in clear, once: the API client's (created, or given a new one) and the
webhook subscription's signing secret.

The secret is in this response only: not in a message (a cookie or the session would carry it across a redirect),
never stored in clear (the client's) or never shown again (the subscription's).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

SHOWN_ONCE_TEMPLATE = "admin/platforms/secret_shown_once.html"


@dataclass(frozen=True)
class Shown:
    """One value of the page, in a labelled read-only field (`name`: its HTML id, `shown-<name>`)."""

    name: str
    label: str
    value: str


class SecretShownOnceMixin:
    """For a ModelAdmin: `secret_response(...)` renders the shown-once page of `obj`."""

    def secret_response(
        self,
        request,
        obj,
        *,
        title: str,
        shown: list[Shown],
        explanations: list[str],
        continue_label: str,
    ) -> TemplateResponse:
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "object": obj,
            "shown": shown,
            "explanations": explanations,
            "continue_label": continue_label,
            "change_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
            "changelist_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        }
        response = TemplateResponse(request, SHOWN_ONCE_TEMPLATE, context)
        add_never_cache_headers(response)
        return response
