"""Forbidden actions: each is refused (login, 404, or a refusal on the page) and changes nothing.

One table, read as a list: who tries what. For every row the test snapshots every domain row and every stored
file, sends the request (CSRF passes: the test client does not enforce it; a second test sends a real token),
checks the refusal, checks that no file byte, no SIRET and no company name leaked, that no fetch was enqueued,
and that the snapshot is identical. The world is described in `conftest.py`.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, reverse, reverse_lazy
from django.utils import timezone

from candidatures import urls as candidature_urls
from candidatures.forms_buyer import PARIS
from candidatures.models import Candidature, Consultation

from .conftest import ANONYMOUS, REFETCHED_SOURCE, STATE_FIELDS, UNAUTHORIZED_SOURCE, World, pdf

pytestmark = pytest.mark.django_db

# How a forbidden action is refused.
LOGIN = "redirected to the login page"
NOT_FOUND = "404"
NO_ROLE = "403 or 404"
ON_THE_PAGE = "refused on the page, with a message"
IGNORED = "accepted, the forbidden part ignored"

LOGIN_URL = reverse_lazy("account_login")


def no_data(world: World) -> dict:
    return {}


@dataclass(frozen=True)
class Forbidden:
    who: str
    does: str
    method: str
    url_name: str
    args: Callable[[World], list]
    data: Callable[[World], dict] = no_data
    expect: str = NOT_FOUND
    says: str = ""
    # Whose secrets must not appear in the answer (None: the actor's own candidature, shown to them).
    victim: Callable[[World], Candidature] | None = None
    # "label:column" left out of the comparison (a timestamp a harmless save moves).
    ignore: frozenset[str] = frozenset()
    # A forbidden action the application lets through today: the case is a strict xfail with this reason.
    bug: str = ""

    @property
    def id(self) -> str:
        return f"{self.who} {self.does}"

    def url(self, world: World) -> str:
        return reverse(self.url_name, args=self.args(world))


# --- What can be done to a candidature, a consultation, their files -----------------------------------------


@dataclass(frozen=True)
class Target:
    does: str
    method: str
    url_name: str
    args: Callable[[World], list]
    data: Callable[[World], dict] = no_data
    owner: str = ""  # the actor who may do it (the control test)
    victim: Callable[[World], Candidature] | None = None


def upload(name: str = "piece.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf("uploaded by the test"), "application/pdf")


def company_targets(victim: str) -> list[Target]:
    """Every company URL about one candidature of company B (`cand_b`, open; `cand_y`, submitted)."""

    def of(world: World) -> Candidature:
        return getattr(world, victim)

    def pk(world):
        return [of(world).pk]

    target = dict(owner="company_b", victim=of)
    return [
        Target("opens the dossier page", "get", "candidature", pk, **target),
        Target("polls the progress fragment", "get", "candidature_progress", pk, **target),
        Target(
            "declares a contact",
            "post",
            "candidature_declare",
            pk,
            lambda w: {"contact_email": "intrus@ailleurs.test", "contact_nom": "Intrus", "lots": ["1"]},
            **target,
        ),
        Target(
            "uploads a piece",
            "post",
            "piece_upload",
            lambda w: [of(w).pk, "carte_pro_tp"],
            lambda w: {"file": upload()},
            **target,
        ),
        Target("asks a source again", "post", "candidature_refetch", lambda w: [of(w).pk, REFETCHED_SOURCE], **target),
        Target("opens the exclusion grounds", "get", "candidature_exclusions", pk, **target),
        Target(
            "signs the declaration on honour",
            "post",
            "candidature_exclusions",
            pk,
            lambda w: {"accept": "on", "signatory": "Intrus"},
            **target,
        ),
        Target(
            "contests an exclusion flag",
            "post",
            "flag_contest",
            lambda w: [of(w).pk, w.flag(of(w)).pk],
            lambda w: {"text": "Rien à voir.", "files": [upload("preuve.pdf")]},
            **target,
        ),
        Target("opens the summary", "get", "candidature_submit", pk, **target),
        Target("submits", "post", "candidature_submit", pk, **target),
        Target(
            "downloads a certificate",
            "get",
            "candidature_document",
            lambda w: [of(w).pk, w.document(of(w)).pk],
            **target,
        ),
        Target(
            "downloads an uploaded piece",
            "get",
            "candidature_document",
            lambda w: [of(w).pk, w.document(of(w), origin="uploaded").pk],
            **target,
        ),
        Target(
            "downloads a contestation attachment",
            "get",
            "company_contestation_file",
            lambda w: [of(w).pk, w.attachment(of(w)).pk],
            **target,
        ),
    ]


def receipt_target() -> Target:
    return Target(
        "downloads the receipt",
        "get",
        "candidature_receipt",
        lambda w: [w.cand_y.pk],
        owner="company_b",
        victim=lambda w: w.cand_y,
    )


def consultation_form(consultation: Consultation, **changes) -> dict:
    """The edit form of a consultation as its page fills it, with `changes`."""
    deadline = timezone.localtime(consultation.deadline, PARIS)
    data = {
        "reference": consultation.reference,
        "title": consultation.title,
        "market_type": consultation.market_type,
        "deadline_date": deadline.date().isoformat(),
        "deadline_time": deadline.time().replace(second=0, microsecond=0).strftime("%H:%M"),
        "lots": "\n".join(lot.title for lot in consultation.lots.all()),
        "required_pieces": list(consultation.required_pieces),
    }
    return data | changes


def buyer_targets() -> list[Target]:
    """Every buyer URL about organisation Y's consultations and its submitted candidature `cand_y`."""

    def cand(world):
        return [world.cand_y.pk]

    target = dict(owner="buyer_y", victim=lambda w: w.cand_y)
    return [
        Target("opens the review table", "get", "consultation_review", lambda w: [w.consultation_y.pk], **target),
        Target(
            "opens the consultation's edit form", "get", "consultation_edit", lambda w: [w.consultation_y.pk], **target
        ),
        Target(
            "edits the consultation",
            "post",
            "consultation_edit",
            lambda w: [w.consultation_y.pk],
            lambda w: consultation_form(w.consultation_y, title="Intitulé détourné", lots="Lot ajouté"),
            **target,
        ),
        Target("publishes a draft consultation", "post", "consultation_publish", lambda w: [w.draft_y.pk], **target),
        Target("opens a candidature", "get", "buyer_candidature", cand, **target),
        Target(
            "refreshes a source of a candidature",
            "post",
            "buyer_refetch",
            lambda w: [w.cand_y.pk, REFETCHED_SOURCE],
            **target,
        ),
        Target("downloads the receipt", "get", "buyer_receipt", cand, **target),
        Target("downloads the dossier ZIP", "get", "buyer_zip", cand, **target),
        Target(
            "downloads a certificate",
            "get",
            "buyer_document",
            lambda w: [w.cand_y.pk, w.document(w.cand_y).pk],
            **target,
        ),
        Target(
            "downloads an uploaded piece",
            "get",
            "buyer_document",
            lambda w: [w.cand_y.pk, w.document(w.cand_y, origin="uploaded").pk],
            **target,
        ),
        Target(
            "downloads a contestation attachment",
            "get",
            "buyer_contestation_file",
            lambda w: [w.cand_y.pk, w.attachment(w.cand_y).pk],
            **target,
        ),
        Target("opens the award form of a candidature", "get", "buyer_award", cand, **target),
        Target(
            "awards a candidature (vigilance follow-up)",
            "post",
            "buyer_award",
            cand,
            lambda w: {"amount": "250000"},
            **target,
        ),
        Target("ends the vigilance follow-up of a candidature", "post", "buyer_vigilance_end", cand, **target),
    ]


def buyer_pages() -> list[Target]:
    """The buyer pages about no object: the dashboard and the creation of a consultation."""
    return [
        Target("opens the buyer dashboard", "get", "buyer_dashboard", lambda w: [], owner="buyer_x"),
        Target("opens the new consultation form", "get", "consultation_create", lambda w: [], owner="buyer_x"),
        Target("opens the vigilance follow-up page", "get", "buyer_vigilance", lambda w: [], owner="buyer_x"),
        Target(
            "creates a consultation",
            "post",
            "consultation_create",
            lambda w: [],
            lambda w: consultation_form(w.draft_y, reference="INTRUS-01", lots=""),
            owner="buyer_x",
        ),
    ]


def refused(target: Target, who: str, expect: str, suffix: str) -> Forbidden:
    return Forbidden(
        who=who,
        does=f"{target.does} {suffix}".strip(),
        method=target.method,
        url_name=target.url_name,
        args=target.args,
        data=target.data,
        expect=expect,
        victim=target.victim,
    )


# --- The table ------------------------------------------------------------------------------------------------


def _access_cases() -> list[Forbidden]:
    cases: list[Forbidden] = []
    company = [*company_targets("cand_b"), receipt_target()]
    for target in company:
        on_y = target.url_name == "candidature_receipt"
        whose = "of B (submitted, org Y)" if on_y else "of B"
        cases += [
            refused(target, ANONYMOUS, LOGIN, whose),
            refused(target, "company_a", NOT_FOUND, whose),
            # The buyer of the candidature's own organisation: the company's pages are still not theirs.
            refused(target, "buyer_y" if on_y else "buyer_x", NOT_FOUND, f"{whose}, through the company's URL"),
        ]
    for target in company_targets("cand_y"):
        if target.method == "get" and "download" in target.does:
            cases.append(refused(target, "company_a", NOT_FOUND, "of B (submitted, org Y)"))
    for target in buyer_targets():
        cases += [
            refused(target, ANONYMOUS, LOGIN, "of org Y"),
            refused(target, "buyer_x", NOT_FOUND, "of org Y"),
            # The company that applied: the buyer's side of its own candidature is not for it.
            refused(target, "company_b", NOT_FOUND, "of org Y, through the buyer's URL (its own candidature)"),
        ]
    for target in buyer_pages():
        cases += [
            refused(target, ANONYMOUS, LOGIN, ""),
            refused(target, "company_a", NO_ROLE, "(a company account)"),
        ]
    return cases


def _company_pages() -> list[Forbidden]:
    def public(world):
        return [world.consultation_x.reference]

    return [
        Forbidden(ANONYMOUS, "opens the portal dashboard", "get", "dashboard", lambda w: [], expect=LOGIN),
        Forbidden(ANONYMOUS, "opens the company dashboard", "get", "company_dashboard", lambda w: [], expect=LOGIN),
        Forbidden(
            ANONYMOUS,
            "applies with a SIRET",
            "post",
            "consultation_public",
            public,
            lambda w: {"siret": w.cand_b.siret},
            expect=LOGIN,
        ),
        Forbidden(
            "buyer_x",
            "applies to a consultation (a buyer account)",
            "post",
            "consultation_public",
            public,
            lambda w: {"siret": "55204944776279"},
            expect=ON_THE_PAGE,
            says="Un compte acheteur ne peut pas candidater",
        ),
        Forbidden(
            "company_a",
            "takes over B's candidature by applying with B's SIRET",
            "post",
            "consultation_public",
            public,
            lambda w: {"siret": w.cand_b.siret},
            expect=ON_THE_PAGE,
            says="ouverte par un autre compte",
            victim=lambda w: w.cand_b,
        ),
        Forbidden(
            "company_a",
            "opens the public page of a draft consultation",
            "get",
            "consultation_public",
            lambda w: [w.draft_y.reference],
        ),
        Forbidden(
            "company_a",
            "applies to a draft consultation",
            "post",
            "consultation_public",
            lambda w: [w.draft_y.reference],
            lambda w: {"siret": "55204944776279"},
        ),
    ]


def _cross_object_cases() -> list[Forbidden]:
    """An object of another candidature reached through a URL of one's own candidature."""
    return [
        Forbidden(
            "company_a",
            "downloads B's certificate through its own candidature's URL",
            "get",
            "candidature_document",
            lambda w: [w.cand_a.pk, w.document(w.cand_b).pk],
            victim=lambda w: w.cand_b,
        ),
        Forbidden(
            "company_a",
            "downloads B's contestation attachment through its own candidature's URL",
            "get",
            "company_contestation_file",
            lambda w: [w.cand_a.pk, w.attachment(w.cand_b).pk],
            victim=lambda w: w.cand_b,
        ),
        Forbidden(
            "company_a",
            "contests B's exclusion flag through its own candidature's URL",
            "post",
            "flag_contest",
            lambda w: [w.cand_a.pk, w.flag(w.cand_b).pk],
            lambda w: {"text": "Rien à voir.", "files": [upload()]},
            victim=lambda w: w.cand_b,
        ),
        Forbidden(
            "buyer_x",
            "downloads org Y's certificate through a candidature of its own organisation",
            "get",
            "buyer_document",
            lambda w: [w.cand_b.pk, w.document(w.cand_y).pk],
            victim=lambda w: w.cand_y,
        ),
        Forbidden(
            "buyer_x",
            "downloads org Y's contestation attachment through a candidature of its own organisation",
            "get",
            "buyer_contestation_file",
            lambda w: [w.cand_b.pk, w.attachment(w.cand_y).pk],
            victim=lambda w: w.cand_y,
        ),
    ]


STATE_VALUE_LOCKED = "provient d'une source de l'État et ne peut pas être modifié"


def _declare(world: World, **values) -> dict:
    """Company A's declaration form as its page fills it (unchecked lots would be a change), with `values`."""
    declared = world.cand_a.declared
    return {"contact_email": declared["contact_email"], "lots": [str(n) for n in declared["lots"]], **values}


def _state_value_cases() -> list[Forbidden]:
    """Company A posts its own declaration form with a value the State gave (INSEE, DGFIP)."""
    attempts = {name: "Valeur saisie par l'entreprise" for name in STATE_FIELDS} | {"chiffre_affaires": "99999999"}
    cases = [
        Forbidden(
            "company_a",
            f"overwrites the State's {name} by posting its declaration",
            "post",
            "candidature_declare",
            lambda w: [w.cand_a.pk],
            lambda w, name=name, value=value: _declare(w, **{name: value}),
            expect=ON_THE_PAGE,
            says=STATE_VALUE_LOCKED,
        )
        for name, value in attempts.items()
    ]
    cases += [
        Forbidden(
            "company_a",
            "empties the State's raison_sociale by posting it blank",
            "post",
            "candidature_declare",
            lambda w: [w.cand_a.pk],
            lambda w: _declare(w, raison_sociale=""),
            expect=ON_THE_PAGE,
            says=STATE_VALUE_LOCKED,
        ),
        Forbidden(
            "company_a",
            "posts the candidature's own columns (siret, owner, submitted_at, status…) with its declaration",
            "post",
            "candidature_declare",
            lambda w: [w.cand_a.pk],
            lambda w: _declare(
                w,
                siret=w.cand_b.siret,
                siren=w.cand_b.siren,
                owner=w.users["company_b"].pk,
                consultation=w.consultation_y.pk,
                submitted_at="2026-01-01T10:00:00+01:00",
                frozen_sha256="0" * 64,
                status="complete",
                declaration_signed_by="Quelqu'un d'autre",
                declared='{"raison_sociale": "Injectée"}',
            ),
            expect=IGNORED,
            says="Vos informations sont enregistrées",
        ),
    ]
    return cases


FROZEN = "a été déposée : elle ne peut plus être modifiée"


def _frozen_cases() -> list[Forbidden]:
    """Company A changes its own submitted (frozen) dossier."""

    def done(world):
        return [world.cand_a_done.pk]

    return [
        Forbidden(
            "company_a",
            "declares a new contact after submission",
            "post",
            "candidature_declare",
            done,
            lambda w: {"contact_email": "nouveau@entreprise-a.test"},
            expect=ON_THE_PAGE,
            says=FROZEN,
        ),
        Forbidden(
            "company_a",
            "uploads a piece after submission",
            "post",
            "piece_upload",
            lambda w: [w.cand_a_done.pk, "carte_pro_tp"],
            lambda w: {"file": upload()},
            expect=ON_THE_PAGE,
            says=FROZEN,
        ),
        Forbidden(
            "company_a",
            "asks a source again after submission",
            "post",
            "candidature_refetch",
            lambda w: [w.cand_a_done.pk, REFETCHED_SOURCE],
            expect=ON_THE_PAGE,
            says=FROZEN,
        ),
        Forbidden(
            "company_a",
            "contests its exclusion flag again after submission",
            "post",
            "flag_contest",
            lambda w: [w.cand_a_done.pk, w.flag(w.cand_a_done).pk],
            lambda w: {"text": "Nouvelle explication.", "files": [upload()]},
            expect=ON_THE_PAGE,
            says=FROZEN,
        ),
        Forbidden(
            "company_a",
            "signs the declaration on honour again after submission",
            "post",
            "candidature_exclusions",
            done,
            lambda w: {"accept": "on", "signatory": "Autre signataire"},
            expect=ON_THE_PAGE,
            says=FROZEN,
        ),
        Forbidden(
            "company_a",
            "submits again",
            "post",
            "candidature_submit",
            done,
            expect=ON_THE_PAGE,
            says="La candidature est déjà déposée.",
        ),
    ]


NOT_HABILITATED = "n'est pas habilitée à recevoir cette donnée"


STATE_PIECE = "a été récupérée auprès de l'État"


def _rule_cases() -> list[Forbidden]:
    """Rules the rightful user's own form cannot break: pieces, habilitations, a published reference, a lot."""
    return [
        Forbidden(
            "company_a",
            "uploads a piece the consultation does not ask for",
            "post",
            "piece_upload",
            lambda w: [w.cand_a.pk, "certification_qualiopi"],
            lambda w: {"file": upload()},
            expect=ON_THE_PAGE,
            says="Cette pièce n'est pas demandée pour cette consultation.",
        ),
        Forbidden(
            "company_a",
            "uploads the BODACC extract (a piece only the State gives)",
            "post",
            "piece_upload",
            lambda w: [w.cand_a.pk, "procedures_collectives"],
            lambda w: {"file": upload()},
            expect=ON_THE_PAGE,
            says="Cette pièce n'est pas demandée pour cette consultation.",
        ),
        Forbidden(
            "company_a",
            "uploads its own URSSAF certificate beside the one fetched from the State",
            "post",
            "piece_upload",
            lambda w: [w.cand_a.pk, "attestation_vigilance"],
            lambda w: {"file": upload()},
            expect=ON_THE_PAGE,
            says=STATE_PIECE,
        ),
        Forbidden(
            "company_a",
            "uploads its own identity piece while INSEE gave the identity",
            "post",
            "piece_upload",
            lambda w: [w.cand_a.pk, "identite"],
            lambda w: {"file": upload()},
            expect=ON_THE_PAGE,
            says=STATE_PIECE,
        ),
        Forbidden(
            "company_a",
            "asks a source its buyer is not habilitated for",
            "post",
            "candidature_refetch",
            lambda w: [w.cand_a.pk, UNAUTHORIZED_SOURCE],
            expect=ON_THE_PAGE,
            says=NOT_HABILITATED,
        ),
        Forbidden(
            "buyer_x",
            "refreshes a source its organisation is not habilitated for",
            "post",
            "buyer_refetch",
            lambda w: [w.cand_a.pk, UNAUTHORIZED_SOURCE],
            expect=ON_THE_PAGE,
            says=NOT_HABILITATED,
        ),
        Forbidden(
            "buyer_y",
            "changes the reference of its published consultation (the candidates' link)",
            "post",
            "consultation_edit",
            lambda w: [w.consultation_y.pk],
            lambda w: consultation_form(w.consultation_y, reference="Y-DETOURNE"),
            expect=IGNORED,
            says="La consultation est enregistrée.",
            ignore=frozenset({"candidatures.Consultation:updated_at"}),
        ),
        Forbidden(
            "buyer_y",
            "changes the market type once companies applied",
            "post",
            "consultation_edit",
            lambda w: [w.consultation_y.pk],
            lambda w: consultation_form(w.consultation_y, market_type="services"),
            expect=IGNORED,
            says="La consultation est enregistrée.",
            ignore=frozenset({"candidatures.Consultation:updated_at"}),
        ),
        Forbidden(
            "buyer_x",
            "removes a lot a company chose",
            "post",
            "consultation_edit",
            lambda w: [w.consultation_x.pk],
            lambda w: consultation_form(w.consultation_x, lots="Gros œuvre"),
            expect=ON_THE_PAGE,
            says="Le lot 2 a été choisi par une entreprise",
        ),
    ]


CASES = [*_access_cases(), *_company_pages(), *_cross_object_cases(), *_state_value_cases(), *_frozen_cases()]
CASES += _rule_cases()
POST_CASES = [case for case in CASES if case.method == "post"]


def params(cases: list[Forbidden]) -> list:
    return [
        pytest.param(case, id=case.id, marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [])
        for case in cases
    ]


# --- The checks -----------------------------------------------------------------------------------------------


def _said(response) -> str:
    """The messages of the request and the page's text."""
    text = " ".join(str(message) for message in get_messages(response.wsgi_request))
    if not getattr(response, "streaming", False):
        text += " " + html.unescape(response.content.decode())
    return text


def _send(client, method: str, url: str, data: dict):
    return client.get(url) if method == "get" else client.post(url, data)


def assert_refused(case: Forbidden, response, world: World) -> None:
    if getattr(response, "streaming", False):
        response.close()
        pytest.fail(f"a file was sent ({response.status_code}, {response.get('Content-Type')})")
    if case.expect == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login")), response.url
    elif case.expect == NOT_FOUND:
        assert response.status_code == 404
    elif case.expect == NO_ROLE:
        assert response.status_code in (403, 404)
    else:
        assert response.status_code in (200, 302, 400), response.status_code
        assert case.says in _said(response)
    if case.victim is not None:
        posted = {str(value).encode() for value in case.data(world).values()}  # echoed back, not leaked
        for secret in set(world.secrets_of(case.victim(world))) - posted:
            assert secret not in response.content, secret


@pytest.mark.parametrize("case", params(CASES))
def test_forbidden_action_is_refused_and_changes_nothing(
    case, world, client_for, unchanged, enqueued, django_capture_on_commit_callbacks
):
    client = client_for(case.who)

    with unchanged(ignore=case.ignore), django_capture_on_commit_callbacks(execute=True):
        response = _send(client, case.method, case.url(world), case.data(world))

    assert_refused(case, response, world)
    assert enqueued == []


@pytest.mark.parametrize("case", params(POST_CASES))
def test_with_a_valid_csrf_token_the_post_is_still_refused(
    case, world, client_for, unchanged, enqueued, django_capture_on_commit_callbacks
):
    """The refusals above are the application's, not a CSRF failure: the same POST with a real token."""
    client = client_for(case.who, enforce_csrf_checks=True)
    # A page with a form, to get the CSRF cookie: the login page for the anonymous, the public page for the others.
    signed_in = case.who != ANONYMOUS
    client.get(reverse("consultation_public", args=[world.consultation_x.reference]) if signed_in else LOGIN_URL)
    token = client.cookies["csrftoken"].value
    url = case.url(world)
    assert client.post(url, case.data(world)).status_code == 403  # without the token: CSRF refuses

    with unchanged(ignore=case.ignore), django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, case.data(world) | {"csrfmiddlewaretoken": token})

    assert_refused(case, response, world)
    assert enqueued == []


# --- The table is complete, and its targets are real ----------------------------------------------------------


def _routes(patterns, prefix: str = "") -> dict[str, str]:
    """URL name → route, through the includes (the buyer's URLs are under `acheteur/`)."""
    routes: dict[str, str] = {}
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            routes |= _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            routes[pattern.name] = prefix + str(pattern.pattern)
    return routes


def _covered(who: str, expect: str) -> set[str]:
    return {case.url_name for case in CASES if case.who == who and case.expect == expect}


def test_every_url_of_the_portal_is_in_the_table():
    """A new URL without its forbidden actions fails here."""
    routes = _routes(candidature_urls.urlpatterns)
    buyer = {name for name, route in routes.items() if route.startswith("acheteur/")}
    company = set(routes) - buyer
    # A company's candidature, and a buyer's consultation or candidature: an object in the path.
    company_objects = {name for name in company if "<int:pk>" in routes[name]}
    buyer_objects = {name for name in buyer if "<int:pk>" in routes[name]}
    assert len(company_objects) == 11 and len(buyer_objects) == 11  # the URLs of today: a new one joins the table

    assert _covered(ANONYMOUS, LOGIN) == set(routes) - {"home"}  # the public page's POST is in it, not its GET
    assert company_objects <= _covered("company_a", NOT_FOUND)
    assert company_objects <= _covered("buyer_x", NOT_FOUND) | _covered("buyer_y", NOT_FOUND)
    assert buyer_objects <= _covered("buyer_x", NOT_FOUND)
    assert buyer_objects <= _covered("company_b", NOT_FOUND)
    assert buyer - buyer_objects <= _covered("company_a", NO_ROLE)


CONTROLS = [
    *company_targets("cand_b"),
    receipt_target(),
    *(target for target in company_targets("cand_y") if "download" in target.does),
    *buyer_targets(),
    *buyer_pages(),
]


@pytest.mark.parametrize("target", CONTROLS, ids=[f"{t.owner} {t.does} ({t.url_name})" for t in CONTROLS])
def test_the_rightful_user_reaches_each_target(target, world, client_for, django_capture_on_commit_callbacks):
    """The refusals are about who asks: the owner of the same URL is served (so the targets exist)."""
    client = client_for(target.owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, target.method, reverse(target.url_name, args=target.args(world)), target.data(world))

    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 302:
        assert not response.url.startswith(reverse("account_login"))
    if target.method == "get" and "download" in target.does:
        assert response.streaming
        body = b"".join(response.streaming_content)
        assert body.startswith(b"PK") if target.url_name == "buyer_zip" else body.startswith(b"%PDF")


def test_state_values_stay_the_states_and_the_company_is_told(world, client_for):
    """The detail of one State-value case: the form does not offer the field, the identity keeps INSEE's value."""
    client = client_for("company_a")
    identity = world.cand_a.company
    page = client.get(reverse("candidature", args=[world.cand_a.pk])).content.decode()

    response = client.post(
        reverse("candidature_declare", args=[world.cand_a.pk]),
        _declare(world, contact_nom="Nouveau contact", raison_sociale="Autre nom SA"),
    )

    assert 'name="raison_sociale"' not in page and 'name="contact_nom"' in page
    assert response.status_code == 302
    assert any(STATE_VALUE_LOCKED in str(message) for message in get_messages(response.wsgi_request))
    identity.refresh_from_db()
    world.cand_a.refresh_from_db()
    assert identity.raison_sociale == STATE_FIELDS["raison_sociale"].format(label="ALPHA")
    assert identity.provenance["raison_sociale"] == "insee_etablissement"
    assert world.cand_a.declared["contact_nom"] == "Contact ALPHA"  # refused as a whole: nothing half-saved
    assert "raison_sociale" not in world.cand_a.declared


LISTS = [
    pytest.param(
        "company_a",
        lambda w: reverse("company_dashboard"),
        lambda w: [w.cand_a.siret, w.cand_a_done.siret],
        lambda w: [w.cand_b.siret, w.cand_y.siret, reverse("candidature", args=[w.cand_b.pk])],
        id="company_a's dashboard lists its candidatures, none of B's",
    ),
    pytest.param(
        "company_a",
        lambda w: reverse("consultation_public", args=[w.consultation_x.reference]),
        lambda w: [reverse("candidature", args=[w.cand_a.pk])],
        lambda w: [w.cand_b.siret, reverse("candidature", args=[w.cand_b.pk])],
        id="company_a's public page of a consultation offers to resume its candidature, not B's",
    ),
    pytest.param(
        "buyer_x",
        lambda w: reverse("buyer_dashboard"),
        lambda w: [w.consultation_x.reference],
        lambda w: [w.consultation_y.reference, w.draft_y.reference],
        id="buyer_x's dashboard lists its organisation's consultations, none of org Y's",
    ),
    pytest.param(
        "buyer_x",
        lambda w: reverse("consultation_review", args=[w.consultation_x.pk]),
        lambda w: [w.cand_a.siret, w.cand_b.siret],
        lambda w: [w.cand_y.siret, w.cand_a_done.siret],
        id="buyer_x's review table lists its consultation's candidatures, none of org Y's",
    ),
]


@pytest.mark.parametrize(("who", "url", "shown", "hidden"), LISTS)
def test_lists_show_nothing_of_others(world, client_for, who, url, shown, hidden):
    response = client_for(who).get(url(world))

    content = response.content.decode()
    assert response.status_code == 200
    assert all(text in content for text in shown(world))
    assert not [text for text in hidden(world) if text in content]
