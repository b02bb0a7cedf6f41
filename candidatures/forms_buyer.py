"""Forms of the buyer's pages. They only shape input: the rules live in `consultations.py` and `vigilance.py`."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import consultations, pieces
from .forms import PortalForm
from .models import Consultation

PARIS = ZoneInfo("Europe/Paris")


def _anchor(bound) -> str:
    """The id a summary link must target: the field's input, or the first choice of a radio or checkbox group
    (a group has no element with the field's own id)."""
    if isinstance(bound.field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
        return f"{bound.auto_id}_0"
    return bound.id_for_label or bound.auto_id


class BuyerForm(PortalForm):
    def error_summary(self) -> list[tuple[str, str, str]]:
        """(anchor id, field label, message) for each error, in field order: the summary above the form."""
        summary = []
        for message in self.non_field_errors():
            summary.append(("", "", message))
        for name, field in self.fields.items():
            bound = self[name]
            for message in bound.errors:
                summary.append((_anchor(bound), str(field.label), message))
        return summary


class ConsultationForm(BuyerForm):
    reference = forms.CharField(
        label=_("Référence"),
        max_length=50,
        help_text=_(
            "Elle figure dans le lien des candidats (…/c/MARCHE-2026-01/) : lettres sans accent, chiffres, "
            "points et tirets."
        ),
    )
    title = forms.CharField(label=_("Intitulé"), max_length=255)
    market_type = forms.ChoiceField(
        label=_("Type de marché"), choices=Consultation.MarketType.choices, widget=forms.RadioSelect
    )
    deadline_date = forms.DateField(
        label=_("Date limite"),
        help_text=_("Format attendu : JJ/MM/AAAA."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    deadline_time = forms.TimeField(
        label=_("Heure limite (heure de Paris)"),
        help_text=_("Format attendu : HH:MM."),
        initial=time(12, 0),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        input_formats=["%H:%M", "%H:%M:%S", "%Hh%M"],
    )
    lots = forms.CharField(
        label=_("Lots"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Un lot par ligne, dans l'ordre : la première ligne est le lot 1. Laissez vide pour un marché sans lots."
        ),
    )
    required_pieces = forms.MultipleChoiceField(
        label=_("Pièces demandées en plus des pièces toujours exigées"),
        required=False,
        choices=pieces.optional_piece_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Cochées par défaut : les pièces usuelles pour le type de marché choisi."),
    )

    # Service error field → form field.
    FIELD_OF_ERROR = {"deadline": "deadline_date"}

    def __init__(self, *args, consultation: Consultation | None = None, defaults_url: str = "", **kwargs):
        self.consultation = consultation
        if consultation is not None:
            local = timezone.localtime(consultation.deadline, PARIS) if consultation.deadline else None
            kwargs.setdefault(
                "initial",
                {
                    "reference": consultation.reference,
                    "title": consultation.title,
                    "market_type": consultation.market_type,
                    "deadline_date": local.date() if local else None,
                    "deadline_time": local.time().replace(second=0, microsecond=0) if local else time(12, 0),
                    "lots": "\n".join(lot.title for lot in consultation.lots.all()),
                    "required_pieces": list(consultation.required_pieces),
                },
            )
        super().__init__(*args, **kwargs)
        if consultation is not None and consultation.is_published:
            self.fields["reference"].disabled = True
            self.fields["reference"].help_text = _(
                "La consultation est publiée : sa référence figure dans le lien des candidats et ne change plus."
            )
        if consultation is not None and consultation.candidatures.exists():
            self.fields["market_type"].disabled = True
            self.fields["market_type"].help_text = _("Des entreprises ont candidaté : le type de marché est fixé.")
        if defaults_url:
            # A new consultation: choosing the market type re-checks its default pieces (htmx).
            self.fields["market_type"].widget.attrs.update(
                {
                    "hx-get": defaults_url,
                    "hx-trigger": "change",
                    "hx-target": "#pieces-fieldset",
                    "hx-select": "#pieces-fieldset",
                    "hx-swap": "outerHTML",
                }
            )

    # The service checks again; checking here too shows every error at once.
    def clean_reference(self):
        return self._checked(consultations.clean_reference, self.cleaned_data["reference"])

    def clean_title(self):
        return self._checked(consultations.clean_title, self.cleaned_data["title"])

    def clean_lots(self):
        lots = self.cleaned_data["lots"]
        self._checked(consultations.clean_lots, lots.splitlines())
        return lots

    def _checked(self, check, value):
        try:
            return check(value)
        except consultations.ConsultationError as error:
            raise forms.ValidationError(error.message) from error

    def clean(self):
        cleaned = super().clean()
        day, hour = cleaned.get("deadline_date"), cleaned.get("deadline_time")
        cleaned["deadline"] = datetime.combine(day, hour, tzinfo=PARIS) if day and hour else None
        previous = self.consultation.deadline if self.consultation is not None else None
        try:
            consultations.check_deadline(cleaned["deadline"], previous=previous)
        except consultations.ConsultationError as error:
            self.add_service_error(error)
        return cleaned

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "reference": data["reference"],
            "title": data["title"],
            "market_type": data["market_type"],
            "deadline": data["deadline"],
            "lots": data["lots"].splitlines(),
            "required_pieces": data["required_pieces"],
        }

    def add_service_error(self, error) -> None:
        field = self.FIELD_OF_ERROR.get(error.field, error.field)
        self.add_error(field if field in self.fields else None, error.message)

    @staticmethod
    def always_required_pieces() -> list[pieces.Piece]:
        return [piece for piece in pieces.PIECES.values() if piece.always]


class ReviewFilterForm(BuyerForm):
    """The filters of the review table (GET), shown unbound with what `review.review_filters` read: one parser,
    so the form never shows a value the table did not apply (nor an error for a value the table ignored)."""

    q = forms.CharField(label=_("Rechercher un SIRET ou une raison sociale"), required=False, max_length=100)
    etat = forms.ChoiceField(label=_("État"), required=False)
    exclusion = forms.BooleanField(label=_("Avec un motif d'exclusion"), required=False)
    attention = forms.BooleanField(label=_("Avec un point d'attention"), required=False)

    def __init__(self, *args, state_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["etat"].choices = [("", _("Tous les états")), *state_choices]
        self.fields["exclusion"].widget.attrs["value"] = "1"
        self.fields["attention"].widget.attrs["value"] = "1"

    @classmethod
    def showing(cls, filters, *, state_choices) -> ReviewFilterForm:
        return cls(
            initial={
                "q": filters.search,
                "etat": filters.state,
                "exclusion": filters.exclusion,
                "attention": filters.warning,
            },
            state_choices=state_choices,
        )


class AwardForm(BuyerForm):
    """The award of a candidature and its amount (`vigilance.candidature_award`)."""

    amount = forms.DecimalField(
        label=_("Montant attribué (€ HT)"),
        help_text=_("Hors taxes. À partir de 5 000 € HT, l’attestation de vigilance est suivie tous les six mois."),
        min_value=Decimal("0.01"),
        max_digits=14,
        decimal_places=2,
        localize=True,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def add_service_error(self, error) -> None:
        self.add_error(error.field if error.field in self.fields else None, error.message)
