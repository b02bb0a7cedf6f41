"""The buyer's pages: consultations, the review table, a dossier and its files.

Every view reaches its objects through `access` (404 for anything not of the buyer's organisation);
the rules live in `consultations.py` and `dossiers.py`, the reads in `review.py` and `dossier_view.py`.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from connectors import registry

from .. import audit, consultations, dossier_view, dossiers, pieces, protected, review, selectors, vigilance
from ..access import candidature_for_buyer, candidature_view_for_buyer, consultation_for_buyer, require_buyer
from ..consultations import candidate_link
from ..forms_buyer import AwardForm, ConsultationForm, ReviewFilterForm
from ..models import Consultation, DossierAccess, SourceFetch
from .files import attachment_response, document_response, receipt_response, zip_response


@login_required
def dashboard(request):
    organisation = require_buyer(request)
    return render(
        request,
        "acheteur/dashboard.html",
        {"organisation": organisation, "consultations": list(review.consultation_counts(organisation=organisation))},
    )


@login_required
def consultation_create(request):
    organisation = require_buyer(request)
    defaults_url = reverse("consultation_create")
    if request.method == "POST":
        form = ConsultationForm(request.POST, defaults_url=defaults_url)
        if form.is_valid():
            try:
                consultation = consultations.consultation_create(
                    organisation=organisation, user=request.user, **form.service_kwargs()
                )
            except consultations.ConsultationError as error:
                form.add_service_error(error)
            else:
                messages.success(
                    request, _("La consultation %(reference)s est créée (brouillon).") % {"reference": consultation}
                )
                return redirect("consultation_review", pk=consultation.pk)
    else:
        market_type = request.GET.get("market_type", "")
        initial = {}
        if market_type in Consultation.MarketType.values:
            initial = {"market_type": market_type, "required_pieces": pieces.default_pieces(market_type=market_type)}
        else:
            initial = {"required_pieces": pieces.default_pieces(market_type=Consultation.MarketType.SERVICES)}
        form = ConsultationForm(initial=initial, defaults_url=defaults_url)
    return render(request, "acheteur/consultation_form.html", {"form": form, "consultation": None})


@login_required
def consultation_edit(request, pk: int):
    consultation = consultation_for_buyer(request, pk)
    if request.method == "POST":
        form = ConsultationForm(request.POST, consultation=consultation)
        if form.is_valid():
            try:
                consultations.consultation_update(consultation=consultation, **form.service_kwargs())
            except consultations.ConsultationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("La consultation est enregistrée."))
                return redirect("consultation_review", pk=consultation.pk)
    else:
        form = ConsultationForm(consultation=consultation)
    return render(request, "acheteur/consultation_form.html", {"form": form, "consultation": consultation})


@login_required
@require_POST
def consultation_publish(request, pk: int):
    consultation = consultation_for_buyer(request, pk)
    try:
        consultations.consultation_publish(consultation=consultation)
    except consultations.ConsultationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("La consultation est publiée : partagez le lien %(link)s avec les entreprises.")
            % {"link": candidate_link(consultation)},
        )
    return redirect("consultation_review", pk=consultation.pk)


@login_required
def consultation_review(request, pk: int):
    consultation = consultation_for_buyer(request, pk)
    may_see_protected = selectors.may_see_protected_identity(organisation=consultation.organisation)
    filters = review.review_filters(request.GET)
    paginator = Paginator(
        review.review_queryset(consultation=consultation, filters=filters, may_see_protected=may_see_protected),
        review.PAGE_SIZE,
    )
    page = paginator.get_page(request.GET.get("page"))
    rows = review.review_rows(
        candidatures=list(page),
        consultation=consultation,
        today=timezone.localdate(),
        may_see_protected=may_see_protected,
    )
    columns = [
        {
            "key": key,
            "label": label,
            "active": filters.sort_key == key,
            "descending": filters.descending,
            # A click on the active column reverses it; another column sorts ascending first.
            "next": ("" if filters.descending else "-") + key if filters.sort_key == key else key,
        }
        for key, label in review.SORT_LABELS.items()
    ]
    return render(
        request,
        "acheteur/review.html",
        {
            "consultation": consultation,
            "candidate_link": candidate_link(consultation) if consultation.is_published else "",
            "filters": filters,
            "filter_form": ReviewFilterForm.showing(filters, state_choices=review.STATE_CHOICES),
            "page_obj": page,
            "rows": rows,
            "columns": {column["key"]: column for column in columns},
            "lots": list(consultation.lots.all()),
            "required_pieces": pieces.required_pieces(keys=consultation.required_pieces),
        },
    )


def _record(request, candidature, action: str, detail: str = "") -> None:
    audit.dossier_access_record(
        user=request.user,
        organisation=candidature.consultation.organisation,
        candidature=candidature,
        action=action,
        detail=detail,
        ip_address=audit.client_ip(request),
    )


@login_required
def candidature_detail(request, pk: int):
    candidature = candidature_view_for_buyer(request, pk)
    _record(request, candidature, DossierAccess.Action.VIEW)
    view = dossier_view.dossier_view(
        candidature=candidature, hide_identity=protected.hidden_from_buyers_of(candidature)
    )
    return render(
        request,
        "acheteur/candidature.html",
        {
            "candidature": candidature,
            "consultation": candidature.consultation,
            "view": view,
            "state_label": review.state_label(candidature),
            "state_badge": review.STATE_BADGES[review.state_of(candidature)],
            "chosen_lots": [lot for lot in view.lots if lot.number in (candidature.declared.get("lots") or [])],
        },
    )


@login_required
@require_POST
def candidature_refetch(request, pk: int, source: str):
    candidature = candidature_for_buyer(request, pk)
    fetch = get_object_or_404(SourceFetch.objects.defer("payload"), candidature=candidature, source=source)
    fetch.candidature = candidature
    label = registry.label(source)
    try:
        dossiers.fetch_restart(fetch=fetch, requested_by=request.user.email or request.user.get_username())
    except dossiers.DossierError as error:
        messages.error(request, error.message)
    else:
        _record(request, candidature, DossierAccess.Action.REFRESH, detail=source)
        messages.success(request, _("Actualisation demandée : %(source)s.") % {"source": label})
    return redirect(reverse("buyer_candidature", args=[candidature.pk]) + "#sources")


@login_required
def candidature_receipt(request, pk: int):
    candidature = candidature_for_buyer(request, pk)
    response = receipt_response(candidature, hide_identity=protected.hidden_from_buyers_of(candidature))
    _record(request, candidature, DossierAccess.Action.RECEIPT)
    return response


@login_required
def document_download(request, pk: int, document: int):
    candidature = candidature_for_buyer(request, pk)
    response = document_response(candidature, document)
    _record(request, candidature, DossierAccess.Action.DOCUMENT, detail=response.filename)
    return response


@login_required
def contestation_file(request, pk: int, attachment: int):
    candidature = candidature_for_buyer(request, pk)
    response = attachment_response(candidature, attachment)
    _record(request, candidature, DossierAccess.Action.ATTACHMENT, detail=response.filename)
    return response


@login_required
def candidature_zip(request, pk: int):
    candidature = candidature_for_buyer(request, pk)
    response = zip_response(candidature, hide_identity=protected.hidden_from_buyers_of(candidature))
    _record(request, candidature, DossierAccess.Action.ZIP)
    return response


# --- The vigilance follow-up of awarded contracts (candidatures/vigilance.py) ----------------------------------


@login_required
def vigilance_page(request):
    organisation = require_buyer(request)
    today = timezone.localdate()
    return render(
        request,
        "acheteur/vigilance.html",
        {
            "organisation": organisation,
            "today": today,
            "rows": vigilance.vigilance_rows(organisation=organisation, today=today),
            "threshold": vigilance.THRESHOLD,
            "refresh_days": settings.VIGILANCE_REFRESH_DAYS_BEFORE,
        },
    )


@login_required
def candidature_award(request, pk: int):
    candidature = candidature_for_buyer(request, pk)
    if request.method == "POST":
        form = AwardForm(request.POST)
        if form.is_valid():
            try:
                vigilance.candidature_award(candidature=candidature, amount=form.cleaned_data["amount"])
            except vigilance.VigilanceError as error:
                form.add_service_error(error)
            else:
                messages.success(request, _("Le marché est attribué à %(siret)s.") % {"siret": candidature.siret})
                return redirect("buyer_vigilance")
    else:
        form = AwardForm(initial={"amount": candidature.award_amount})
    hidden = protected.hidden_from_buyers_of(candidature)
    return render(
        request,
        "acheteur/vigilance_award.html",
        {
            "candidature": candidature,
            "consultation": candidature.consultation,
            "form": form,
            "company_name": "" if hidden else dossier_view.company_name(candidature),
            "identity_label": vigilance.identity_label(candidature, hidden=hidden),
        },
    )


@login_required
@require_POST
def vigilance_end(request, pk: int):
    candidature = candidature_for_buyer(request, pk)
    try:
        vigilance.vigilance_end(candidature=candidature)
    except vigilance.VigilanceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Le suivi de vigilance de %(siret)s est terminé.") % {"siret": candidature.siret})
    return redirect("buyer_vigilance")
