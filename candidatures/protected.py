"""The identity of non-diffusible companies (INSEE `status_diffusion` ≠ diffusible) is protected data.

It is shown to the company itself and to the buyers of an organisation habilitated for protected data; every other
buyer sees the candidature without it (name, trade name, address, directors), on every page and in every file
this portal renders for them. Nothing here reaches a public page or a log.
"""

from __future__ import annotations

import copy

from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Candidature

PROTECTED_FIELDS = ("raison_sociale", "enseigne", "adresse", "dirigeants")
PROTECTED_LABEL = _("Identité protégée (entreprise non diffusible)")
PROTECTED_EXPLANATION = _(
    "Cette entreprise n'est pas diffusible au répertoire SIRENE : son identité est une donnée protégée. "
    "Votre organisation n'est pas habilitée à la recevoir ; l'entreprise est identifiée par son SIRET."
)


def is_non_diffusible(candidature: Candidature) -> bool:
    """Non-diffusible now, or when it submitted (a submitted dossier keeps the protection it was given)."""
    company = getattr(candidature, "company", None)
    frozen_company = ((candidature.frozen_dossier or {}).get("dossier") or {}).get("company") or {}
    return (company is not None and company.diffusible is False) or frozen_company.get("diffusible") is False


def identity_hidden(*, candidature: Candidature, may_see_protected: bool) -> bool:
    """Whether this viewer must not see this candidature's identity."""
    return not may_see_protected and is_non_diffusible(candidature)


def hidden_from_buyers_of(candidature: Candidature) -> bool:
    """Whether the buyers of the candidature's organisation must not see its identity (no query when the company
    is diffusible)."""
    return is_non_diffusible(candidature) and not selectors.may_see_protected_identity(
        organisation=candidature.consultation.organisation
    )


def masked_company(company: dict | None) -> dict | None:
    """A company block of the dossier JSON without its protected fields (the rest is open data)."""
    if company is None:
        return None
    masked = dict(company)
    for name in PROTECTED_FIELDS:
        if name in masked:
            masked[name] = [] if name == "dirigeants" else None
    masked["identite_protegee"] = True
    return masked


def masked_frozen_dossier(frozen: dict) -> dict:
    """The frozen dossier as a non-habilitated buyer may receive it: the identity blanked, the declared name too."""
    masked = copy.deepcopy(frozen)
    dossier = masked.get("dossier") or {}
    dossier["company"] = masked_company(dossier.get("company"))
    declared = masked.get("declared") or {}
    for name in PROTECTED_FIELDS:
        declared.pop(name, None)
    return masked
