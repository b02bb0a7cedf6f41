"""The company's pages: open a consultation, watch the sources arrive, complete, contest, sign, submit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import dossiers, pieces
from ..access import (
    buyer_organisation,
    candidature_for_company,
    candidature_view_for_company,
    published_consultation,
)
from ..dossier_view import dossier_view
from ..forms import ContestationForm, DeclarationForm, PieceUploadForm, SignatureForm, SiretForm, upload_context
from ..models import Candidature, ExclusionFlag
from .files import attachment_response, document_response, receipt_response

# While sources are still answering, the page polls (htmx) or refreshes (without JavaScript) this often.
POLL_SECONDS = 2


def consultation_public(request, reference: str):
    """The public link of a consultation: what it is, and the SIRET form to apply."""
    consultation = published_consultation(reference)
    # The link a buyer's platform hands to a company carries its SIRET (`?siret=`): the form opens with it typed.
    prefill = "".join(character for character in request.GET.get("siret", "") if character.isdigit())[:14]
    form = SiretForm(request.POST or None, initial={"siret": prefill} if prefill else None)
    existing = None
    if request.user.is_authenticated:
        existing = Candidature.objects.filter(consultation=consultation, owner=request.user).order_by("pk")
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if buyer_organisation(request) is not None:
            messages.error(
                request, _("Un compte acheteur ne peut pas candidater. Connectez-vous avec un compte entreprise.")
            )
        elif form.is_valid():
            try:
                candidature, created = dossiers.candidature_open(
                    consultation=consultation, siret=form.cleaned_data["siret"], user=request.user
                )
            except dossiers.DossierError as exc:
                form.add_error("siret" if exc.field == "siret" else None, exc.message)
            else:
                if not created:
                    messages.info(request, _("Vous reprenez votre candidature là où vous l'aviez laissée."))
                return redirect("candidature", pk=candidature.pk)
    return render(
        request,
        "candidat/consultation.html",
        {
            "consultation": consultation,
            "form": form,
            "existing": existing,
            "pieces": pieces.required_pieces(keys=consultation.required_pieces),
        },
    )


@login_required
def dashboard(request):
    if buyer_organisation(request) is not None:
        return redirect("buyer_dashboard")
    candidatures = (
        Candidature.objects.filter(owner=request.user)
        .select_related("consultation__organisation", "company")
        .order_by("-created_at")
    )
    return render(request, "candidat/dashboard.html", {"candidatures": candidatures})


def _view_for(request, pk: int):
    return dossier_view(candidature=candidature_view_for_company(request, pk))


@login_required
def candidature_detail(request, pk: int):
    view = _view_for(request, pk)
    candidature = view.candidature
    locked = dossiers.locked_fields(candidature=candidature)
    form = DeclarationForm(initial=candidature.declared, lots=view.lots, locked=locked)
    return render(
        request,
        "candidat/candidature.html",
        {
            "view": view,
            "candidature": candidature,
            "form": form,
            "poll_seconds": POLL_SECONDS,
            "step": 1 if not view.finished else 2,
        }
        | upload_context(),
    )


@login_required
def candidature_progress(request, pk: int):
    """The live progress fragment, polled by htmx until every source has answered.

    The page never reloads under the user's typing: when a source answers, the dossier section is swapped
    out of band; the page reloads only when the identity arrives, before any form was shown.
    """
    view = _view_for(request, pk)
    if request.htmx and request.GET.get("identity") == "pending" and view.identity_state != "pending":
        response = HttpResponse()
        response["HX-Refresh"] = "true"
        return response
    # The summary sentence lives in a live region outside the swapped fragment: it is sent (out of band) only when
    # the count of answers changed, so that screen readers announce each change once.
    answered_changed = request.GET.get("done") != str(view.done_sources)
    return render(
        request,
        "candidat/_progress.html",
        {
            "view": view,
            "poll_seconds": POLL_SECONDS,
            "swap_resume": answered_changed,
            "swap_dossier": view.identity_state != "pending" and answered_changed,
        }
        | upload_context(),
    )


@login_required
@require_POST
def candidature_declare(request, pk: int):
    candidature = candidature_for_company(request, pk)
    locked = dossiers.locked_fields(candidature=candidature)
    form = DeclarationForm(request.POST, lots=list(candidature.consultation.lots.all()), locked=locked)
    if form.is_valid():
        posted = {name: value for name, value in form.cleaned_data.items() if name in request.POST or name == "lots"}
        # A State value sent anyway (a hand-made request) is refused by the service, not silently dropped.
        posted |= {name: request.POST[name] for name in locked if name in request.POST}
        try:
            dossiers.candidature_declare(candidature=candidature, values=posted)
        except dossiers.DossierError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Vos informations sont enregistrées."))
            return redirect(reverse("candidature", args=[pk]) + "#informations")
    else:
        messages.error(request, _("Le formulaire contient des erreurs : corrigez les champs signalés."))
        view = _view_for(request, pk)
        return render(
            request,
            "candidat/candidature.html",
            {"view": view, "candidature": candidature, "form": form, "step": 2} | upload_context(),
            status=400,
        )
    return redirect("candidature", pk=pk)


@login_required
@require_POST
def piece_upload(request, pk: int, piece: str):
    candidature = candidature_for_company(request, pk)
    if piece not in pieces.PIECES:
        raise Http404
    form = PieceUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choisissez un fichier à déposer."))
    else:
        try:
            dossiers.piece_upload(
                candidature=candidature, piece_key=piece, uploaded_file=form.cleaned_data["file"], user=request.user
            )
        except dossiers.DossierError as exc:
            messages.error(request, f"{pieces.PIECES[piece].label} : {exc.message}")
        else:
            messages.success(request, _("« %(piece)s » est déposée.") % {"piece": pieces.PIECES[piece].label})
    return redirect(reverse("candidature", args=[pk]) + f"#piece-{piece}")


@login_required
@require_POST
def candidature_refetch(request, pk: int, source: str):
    candidature = candidature_for_company(request, pk)
    fetch = get_object_or_404(candidature.fetches, source=source)
    try:
        dossiers.fetch_restart(fetch=fetch, requested_by=request.user.email, by_company=True)
    except dossiers.DossierError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(
            request, _("Nouvelle récupération demandée : « %(label)s ».") % {"label": fetch.get_source_display()}
        )
    return redirect("candidature", pk=pk)


@login_required
def candidature_exclusions(request, pk: int):
    """Exclusion grounds: the flags raised from the sources (to contest) and the declaration on honour."""
    view = _view_for(request, pk)
    candidature = view.candidature
    form = SignatureForm(request.POST or None, initial={"signatory": candidature.declaration_signed_by})
    if request.method == "POST" and form.is_valid():
        try:
            dossiers.declaration_sign(candidature=candidature, signatory=form.cleaned_data["signatory"])
        except dossiers.DossierError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Votre déclaration sur l'honneur est enregistrée."))
            return redirect("candidature_submit", pk=pk)
    return _exclusions_page(request, view, form)


def _exclusions_page(request, view, form, *, contested=None, contested_flag=None, status=200):
    """The exclusions page; `contested` is a refused contestation form, shown (with its errors) at its flag."""
    return render(
        request,
        "candidat/exclusions.html",
        {
            "view": view,
            "candidature": view.candidature,
            "form": form,
            "contest_form": ContestationForm(),
            "contested": contested,
            "contested_flag": contested_flag,
            "step": 3,
        },
        status=status,
    )


class _Tracked:
    """The files of a contestation, remembering which one the service is checking (to name it if refused)."""

    def __init__(self, files):
        self.files = files
        self.current = None

    def __iter__(self):
        for upload in self.files:
            self.current = upload
            yield upload


@login_required
@require_POST
def flag_contest(request, pk: int, flag: int):
    candidature = candidature_for_company(request, pk)
    exclusion_flag = get_object_or_404(ExclusionFlag, pk=flag, candidature=candidature)
    form = ContestationForm(request.POST, request.FILES)
    if form.is_valid():
        files = _Tracked(form.cleaned_data["files"])
        try:
            dossiers.contestation_save(
                candidature=candidature,
                flag=exclusion_flag,
                text=form.cleaned_data["text"],
                files=files,
                user=request.user,
            )
        except dossiers.DossierError as exc:
            if exc.field == "file" and files.current is not None:
                form.add_error(
                    "files", _("« %(name)s » : %(message)s") % {"name": files.current.name, "message": exc.message}
                )
            elif exc.field == "text":
                form.add_error("text", exc.message)
            else:  # not about what was typed (a frozen dossier): said as before, above the page
                messages.error(request, exc.message)
                return redirect(reverse("candidature_exclusions", args=[pk]) + f"#motif-{exclusion_flag.pk}")
        else:
            messages.success(request, _("Votre contestation est enregistrée ; l'acheteur la verra avec le motif."))
            return redirect(reverse("candidature_exclusions", args=[pk]) + f"#motif-{exclusion_flag.pk}")
    # Refused: the page again, the text as typed, the error at its field (the files must be chosen again).
    messages.error(request, _("La contestation n'est pas enregistrée : corrigez le champ signalé."))
    view = _view_for(request, pk)
    return _exclusions_page(
        request,
        view,
        SignatureForm(initial={"signatory": view.candidature.declaration_signed_by}),
        contested=form,
        contested_flag=exclusion_flag.pk,
        status=400,
    )


@login_required
def candidature_submit(request, pk: int):
    """The summary, and the submission that freezes the dossier."""
    view = _view_for(request, pk)
    candidature = view.candidature
    if request.method == "POST":
        try:
            dossiers.candidature_submit(candidature=candidature, user=request.user)
        except dossiers.DossierError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request, _("Votre candidature est déposée. Téléchargez votre récépissé : il en garde l'empreinte.")
            )
            return redirect("candidature_submit", pk=pk)
        view = _view_for(request, pk)
        candidature = view.candidature
    return render(
        request,
        "candidat/summary.html",
        {
            "view": view,
            "candidature": candidature,
            "blockers": dossiers.submission_blockers(candidature=candidature),
            "step": 4,
        },
    )


@login_required
def candidature_receipt(request, pk: int):
    return receipt_response(candidature_for_company(request, pk))


@login_required
def document_download(request, pk: int, document: int):
    return document_response(candidature_for_company(request, pk), document)


@login_required
def contestation_file(request, pk: int, attachment: int):
    return attachment_response(candidature_for_company(request, pk), attachment)
