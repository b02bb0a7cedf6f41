"""django-allauth adapters: sign-in by email (code or password) for everyone, ProConnect for the State's agents.

A ProConnect sign-in makes the agent a buyer (acheteur) of the organisation whose SIRET ProConnect returns.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.utils.translation import gettext_lazy as _

from connectors.identifiers import InvalidIdentifier

from . import services
from .models import OrganisationMember
from .proconnect import PROVIDER_ID as PROCONNECT_PROVIDER_ID

logger = logging.getLogger(__name__)


def buyer_membership_from_proconnect(*, user: AbstractUser, claims: Mapping[str, Any]) -> OrganisationMember | None:
    """Name the user after ProConnect's claims and make them a buyer of the organisation of the `siret` claim.

    A user who already buys for an organisation keeps it (ProConnect never moves a buyer). A company account
    (one with candidatures, matched by its email) is never made a buyer: it would lose its candidatures from its
    dashboard and could not apply any more. Without a valid SIRET the user signs in without becoming a buyer.
    Returns the user's membership, if any.
    """
    names = {"first_name": claims.get("given_name") or "", "last_name": claims.get("usual_name") or ""}
    changed = [field for field, value in names.items() if value and getattr(user, field) != value]
    for field in changed:
        setattr(user, field, names[field])
    if changed:
        user.save(update_fields=changed)

    membership = OrganisationMember.objects.select_related("organisation").filter(user=user).first()
    if membership is not None:
        return membership
    siret = claims.get("siret") or ""
    if not siret:
        return None
    if user.candidatures.exists():
        logger.warning("ProConnect: l'utilisateur %s a des candidatures : il reste un compte entreprise", user.pk)
        return None
    try:
        organisation, created = services.organisation_get_or_create(siret=siret)
    except InvalidIdentifier as exc:
        logger.warning("ProConnect: SIRET %r refusé pour l'utilisateur %s (%s)", siret, user.pk, exc.code)
        return None
    # get_or_create: two sign-ins of the same user at once make one membership (user is unique).
    membership, _ = OrganisationMember.objects.get_or_create(user=user, defaults={"organisation": organisation})
    logger.info(
        "ProConnect: utilisateur %s acheteur de %s (organisation %s)",
        user.pk,
        organisation.siret,
        "créée" if created else "existante",
    )
    return membership


def _proconnect_claims(sociallogin) -> dict[str, Any] | None:
    """The claims of a ProConnect sign-in (userinfo over the ID token), or None for another provider."""
    account = sociallogin.account
    if account.provider != PROCONNECT_PROVIDER_ID:
        return None
    extra = account.extra_data or {}
    return {**(extra.get("id_token") or {}), **(extra.get("userinfo") or {})}


class AccountAdapter(DefaultAccountAdapter):
    """allauth's defaults (French from its translations; codes and verification from the settings), but emails
    speak of the service, not of the host name (no sites framework here)."""

    # allauth's French translation misses the message of its brute-force protection (ACCOUNT_RATE_LIMITS).
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": _("Trop de tentatives de connexion échouées. Réessayez dans quelques minutes."),
    }

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        site = SimpleNamespace(name="Passe Marché", domain=urlsplit(settings.SITE_URL).netloc)
        super().send_mail(template_prefix, email, {"current_site": site, **context})


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def generate_state_param(self, state: dict) -> str:
        # ProConnect refuses a `state` shorter than 32 characters; allauth's default has 16.
        return secrets.token_urlsafe(32)

    def pre_social_login(self, request, sociallogin) -> None:
        """A returning agent (or one matched by email): refresh their name and buyer membership."""
        super().pre_social_login(request, sociallogin)
        claims = _proconnect_claims(sociallogin)
        if claims is not None and sociallogin.is_existing:
            buyer_membership_from_proconnect(user=sociallogin.user, claims=claims)

    def save_user(self, request, sociallogin, form=None):
        """A first ProConnect sign-in: the new user becomes a buyer of their organisation."""
        user = super().save_user(request, sociallogin, form=form)
        claims = _proconnect_claims(sociallogin)
        if claims is not None:
            buyer_membership_from_proconnect(user=user, claims=claims)
        return user
