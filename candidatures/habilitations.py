"""What an organisation may be habilitated for: the data families of API Entreprise, and the rules of a grant.

Pure rules (no ORM): the model's `clean()`, the admin form and the services all check a habilitation here.
The families are the sources of the registry, plus the API Entreprise data that this portal never calls but an
admin could be asked to grant: they exist so that the refusal below is a rule, not an accident of the catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext_lazy as _

from connectors import registry

MARCHES_PUBLICS = "marches_publics"
AIDES_PUBLIQUES = "aides_publiques"


@dataclass(frozen=True)
class DataFamily:
    key: str
    label: str
    scope: str  # the API Entreprise scope of its endpoints (reference/api-entreprise/scopes-by-endpoint.yml)


# Seed 003 (API Entreprise, "Autorisation marchés publics"): these data are ❌ for public procurement.
NOT_FOR_MARCHES_PUBLICS: dict[str, DataFamily] = {
    family.key: family
    for family in (
        DataFamily("bdf_bilans_entreprise", "3 derniers bilans (Banque de France)", "bilans_entreprise_bdf"),
        DataFamily("dgfip_liasses_fiscales", "Liasses fiscales (DGFIP)", "liasses_fiscales_dgfip"),
    )
}

DATA_FAMILIES: dict[str, DataFamily] = {
    **{key: DataFamily(key, source.label, source.scope) for key, source in registry.SOURCES.items()},
    **NOT_FOR_MARCHES_PUBLICS,
}


def family_choices() -> list[tuple[str, str]]:
    return [(key, f"{family.label} — {family.scope}") for key, family in DATA_FAMILIES.items()]


def grant_errors(*, use_case: str, sources: list[str], starts_on: date | None, ends_on: date | None) -> dict:
    """Field name → French messages, one for every rule the grant breaks; empty when it may be saved."""
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(sources) - set(DATA_FAMILIES))
    if unknown:
        errors.setdefault("sources", []).append(
            _("Données inconnues du catalogue : %(keys)s.") % {"keys": ", ".join(unknown)}
        )
    forbidden = [NOT_FOR_MARCHES_PUBLICS[key].label for key in sources if key in NOT_FOR_MARCHES_PUBLICS]
    if use_case == MARCHES_PUBLICS and forbidden:
        errors.setdefault("sources", []).append(
            _("Ces données ne sont pas ouvertes aux marchés publics par API Entreprise : %(labels)s.")
            % {"labels": ", ".join(forbidden)}
        )
    if starts_on and ends_on and ends_on < starts_on:
        errors.setdefault("ends_on", []).append(_("La fin de l'habilitation ne peut pas précéder son début."))
    return errors
