"""Forms of the company's pages (DSFR rendering). Business checks stay in `dossiers`; forms check shapes."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from dsfr.forms import DsfrBaseForm

from connectors.identifiers import InvalidIdentifier, validate_siret

from .dossiers import DECLARABLE_FIELDS
from .storage import upload_size_label


class PortalForm(DsfrBaseForm):
    """DSFR form that marks optional fields (the DSFR's current rule) without django-dsfr's transition warnings."""

    def get_context(self) -> dict:
        return forms.Form.get_context(self) | {"DSFR_MARK_OPTIONAL_FIELDS": True}


class SiretForm(PortalForm):
    siret = forms.CharField(
        label=_("SIRET de l'établissement qui candidate"),
        help_text=_("14 chiffres, espaces acceptés. Exemple : 552 049 447 76279"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_siret(self) -> str:
        try:
            return validate_siret(self.cleaned_data["siret"])
        except InvalidIdentifier as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc


class DeclarationForm(PortalForm):
    """What the company declares: its contact, its lots, and the values the State could not give.

    Fields whose value came from a source are removed from the form; the service refuses them anyway.
    """

    contact_nom = forms.CharField(label=DECLARABLE_FIELDS["contact_nom"].label, max_length=255, required=False)
    contact_email = forms.EmailField(label=DECLARABLE_FIELDS["contact_email"].label, required=True)
    contact_telephone = forms.CharField(
        label=DECLARABLE_FIELDS["contact_telephone"].label, max_length=32, required=False
    )
    lots = forms.TypedMultipleChoiceField(
        label=_("Lots pour lesquels l'entreprise candidate"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    raison_sociale = forms.CharField(label=DECLARABLE_FIELDS["raison_sociale"].label, max_length=255, required=False)
    adresse = forms.CharField(label=DECLARABLE_FIELDS["adresse"].label, max_length=512, required=False)
    forme_juridique = forms.CharField(label=DECLARABLE_FIELDS["forme_juridique"].label, max_length=255, required=False)
    activite_libelle = forms.CharField(
        label=DECLARABLE_FIELDS["activite_libelle"].label, max_length=255, required=False
    )
    chiffre_affaires = forms.IntegerField(
        label=DECLARABLE_FIELDS["chiffre_affaires"].label, min_value=0, required=False
    )

    def __init__(self, *args, lots=(), locked=frozenset(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in locked:
            self.fields.pop(name, None)
        if lots:
            self.fields["lots"].choices = [(lot.number, str(lot)) for lot in lots]
        else:
            self.fields.pop("lots")


# The types `dossiers.store_uploaded_file` accepts (checked there by the content, never by the name).
UPLOAD_ACCEPT = "application/pdf,image/jpeg,image/png"


def upload_help_text(*, per_file: bool = False) -> str:
    """The one statement of what can be uploaded, from `settings.UPLOAD_MAX_BYTES` (read at each call)."""
    size = upload_size_label(settings.UPLOAD_MAX_BYTES)
    if per_file:
        return gettext("PDF, JPEG ou PNG ; %(size)s au plus par fichier.") % {"size": size}
    return gettext("PDF, JPEG ou PNG ; %(size)s au plus.") % {"size": size}


def upload_context() -> dict:
    """What the hand-written upload inputs of the dossier need (partials/dossier.html)."""
    return {"upload_help_text": upload_help_text(), "upload_accept": UPLOAD_ACCEPT}


# Evaluated when shown, so that the text follows the setting (and the tests that change it).
upload_help_text_lazy = lazy(upload_help_text, str)


class PieceUploadForm(PortalForm):
    file = forms.FileField(
        label=_("Fichier"),
        help_text=upload_help_text_lazy(),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": UPLOAD_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class ContestationForm(PortalForm):
    text = forms.CharField(
        label=_("Pourquoi ce motif ne s'applique-t-il pas ?"),
        help_text=_("Par exemple : jugement infirmé en appel, plan de redressement adopté, homonymie."),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
    )
    files = MultipleFileField(
        label=_("Justificatifs (facultatif)"), help_text=upload_help_text_lazy(per_file=True), required=False
    )


class SignatureForm(PortalForm):
    accept = forms.BooleanField(
        label=_(
            "Je déclare sur l'honneur que l'entreprise n'entre dans aucun des cas d'exclusion prévus aux "
            "articles L2141-1 à L2141-5 du code de la commande publique."
        ),
        required=True,
    )
    signatory = forms.CharField(label=_("Nom et qualité du signataire"), max_length=255)
