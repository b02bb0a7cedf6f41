"""One helper per role to reach an object from a view: anything that is not the user's is a 404.

A 404 (never a 403) so that nothing tells a stranger that the object exists.
"""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from .models import Candidature, Consultation, Organisation


def buyer_organisation(request) -> Organisation | None:
    """The organisation the signed-in user buys for, or None for a company user."""
    user = request.user
    if not user.is_authenticated:
        return None
    membership = getattr(user, "buyer_membership", None)
    return membership.organisation if membership is not None else None


def require_buyer(request) -> Organisation:
    organisation = buyer_organisation(request)
    if organisation is None:
        raise Http404
    return organisation


def consultation_for_buyer(request, pk: int) -> Consultation:
    organisation = require_buyer(request)
    return get_object_or_404(Consultation.objects.select_related("organisation"), pk=pk, organisation=organisation)


def candidature_for_buyer(request, pk: int) -> Candidature:
    organisation = require_buyer(request)
    return get_object_or_404(
        Candidature.objects.select_related("consultation__organisation", "company"),
        pk=pk,
        consultation__organisation=organisation,
    )


def candidature_view_for_buyer(request, pk: int) -> Candidature:
    """A candidature of the buyer's organisation, loaded once with all a dossier page shows."""
    organisation = require_buyer(request)
    return _for_view(pk, Candidature.objects.filter(consultation__organisation=organisation))


def candidature_view_for_company(request, pk: int) -> Candidature:
    if not request.user.is_authenticated:
        raise Http404
    return _for_view(pk, Candidature.objects.filter(owner=request.user))


def _for_view(pk: int, allowed) -> Candidature:
    from .dossier_view import candidature_for_view

    try:
        return candidature_for_view(pk=pk, queryset=allowed)
    except Candidature.DoesNotExist as exc:
        raise Http404 from exc


def candidature_for_company(request, pk: int) -> Candidature:
    if not request.user.is_authenticated:
        raise Http404
    return get_object_or_404(
        Candidature.objects.select_related("consultation__organisation", "company"), pk=pk, owner=request.user
    )


def published_consultation(reference: str) -> Consultation:
    return get_object_or_404(
        Consultation.objects.select_related("organisation").prefetch_related("lots"),
        reference=reference,
        published_at__isnull=False,
    )
