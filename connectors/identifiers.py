"""SIRET/SIREN validation: the one function every entry point uses (forms, command, API, connectors)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret


@dataclass
class InvalidIdentifier(ValueError):
    """`code` is stable (for APIs and tests); `message` is the French sentence shown to the user."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


def validate_siret(value: str) -> str:
    """Return the SIRET as 14 digits, or raise InvalidIdentifier saying what is wrong.

    python-stdnum checks the Luhn key and the La Poste exception (SIREN 356000000, whose establishments
    are numbered by a sum of digits multiple of 5).
    """
    compact = stdnum_siret.compact(value or "")
    if not compact:
        raise InvalidIdentifier("siret_vide", _("Saisissez le numéro SIRET de l'établissement (14 chiffres)."))
    if not compact.isdigit():
        raise InvalidIdentifier("siret_format", _("Le SIRET ne doit contenir que des chiffres (14 chiffres)."))
    if len(compact) != 14:
        raise InvalidIdentifier(
            "siret_longueur",
            _("Le SIRET doit comporter 14 chiffres (%(count)s saisis).") % {"count": len(compact)},
        )
    try:
        return stdnum_siret.validate(compact)
    except stdnum_errors.ValidationError as exc:
        raise InvalidIdentifier(
            "siret_cle",
            _("Ce numéro SIRET n'existe pas : sa clé de contrôle est incorrecte. Vérifiez la saisie."),
        ) from exc


def validate_siren(value: str) -> str:
    compact = stdnum_siren.compact(value or "")
    if not compact.isdigit() or len(compact) != 9:
        raise InvalidIdentifier("siren_format", _("Le SIREN doit comporter 9 chiffres."))
    try:
        return stdnum_siren.validate(compact)
    except stdnum_errors.ValidationError as exc:
        raise InvalidIdentifier(
            "siren_cle", _("Ce numéro SIREN n'existe pas : sa clé de contrôle est incorrecte.")
        ) from exc


def siren_of(siret: str) -> str:
    return siret[:9]
