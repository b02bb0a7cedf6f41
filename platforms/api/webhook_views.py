"""/api/v1/webhooks/: a platform's subscriptions to the events (scope webhooks:manage).

The signing secret is in the answer to the creation only (generated when the platform sends none); it is never
shown again. A subscription of another client is a 404.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from .. import webhooks
from ..models import WebhookEndpoint, WebhookEvent
from .pagination import Pagination
from .views import AUTH_ERRORS, BODY_ERRORS, NO_PAGE, NOT_FOUND, ApiView

WEBHOOKS = "Webhooks"
SCOPE = "webhooks:manage"


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "is_active", "created_at"]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="Secret de signature (HMAC-SHA256), en clair dans cette réponse seulement : conservez-le."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


# The event names, documented as an enum; checked by the service (webhooks.webhook_subscription_check), like the
# address and the secret: the input only takes the types.
@extend_schema_field(serializers.ChoiceField(choices=WebhookEvent.choices))
class EventField(serializers.CharField):
    pass


class WebhookEndpointInput(serializers.Serializer):
    url = serializers.CharField(help_text="Adresse https qui recevra les notifications (POST).")
    events = serializers.ListField(child=EventField(), help_text="Les événements à recevoir (un au moins).")
    secret = serializers.CharField(
        required=False,
        help_text="Secret de signature (32 à 128 caractères) ; généré par le service s'il est absent.",
    )


class WebhookListView(ApiView):
    required_scopes = {"*": SCOPE}
    pagination_class = Pagination

    @extend_schema(
        operation_id="webhooks_list",
        tags=[WEBHOOKS],
        summary="Lister les abonnements",
        description="Les abonnements du client (sans leur secret).",
        responses={200: WebhookEndpointSerializer(many=True)} | AUTH_ERRORS | NO_PAGE,
    )
    def get(self, request):
        paginator = Pagination()
        page = paginator.paginate_queryset(
            webhooks.client_webhook_endpoints(api_client=self.client), request, view=self
        )
        return paginator.get_paginated_response(WebhookEndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        tags=[WEBHOOKS],
        summary="S'abonner à des événements",
        description=(
            "Chaque notification est un POST JSON signé : en-têtes `X-Passemarche-Timestamp` (secondes Unix) et "
            "`X-Signature-SHA256: sha256=<HMAC-SHA256 hexadécimal de « <timestamp>. » suivi du corps brut>`, "
            "`X-Passemarche-Event`, `X-Passemarche-Delivery` (identifiant de l'événement, le même à chaque "
            "tentative). Une réponse 2xx l'acquitte ; délai dépassé, 5xx et 429 sont retentés avec un délai "
            "croissant ; toute autre réponse (redirection comprise, jamais suivie) est un échec définitif."
        ),
        request=WebhookEndpointInput,
        responses={201: WebhookEndpointCreatedSerializer} | BODY_ERRORS | AUTH_ERRORS,
    )
    def post(self, request):
        serializer = WebhookEndpointInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            endpoint, secret = webhooks.webhook_endpoint_create(
                api_client=self.client, url=data["url"], events=data["events"], secret=data.get("secret", "")
            )
        except webhooks.WebhookError as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        body = WebhookEndpointSerializer(endpoint).data | {"secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDetailView(ApiView):
    http_method_names = ["get", "delete", "head"]
    required_scopes = {"*": SCOPE}

    def endpoint(self, id: int) -> WebhookEndpoint:
        return get_object_or_404(webhooks.client_webhook_endpoints(api_client=self.client), pk=id)

    @extend_schema(
        operation_id="webhooks_retrieve",
        tags=[WEBHOOKS],
        summary="Lire un abonnement",
        responses={200: WebhookEndpointSerializer} | AUTH_ERRORS | NOT_FOUND,
    )
    def get(self, request, id: int):
        return Response(WebhookEndpointSerializer(self.endpoint(id)).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        tags=[WEBHOOKS],
        summary="Se désabonner",
        description="Plus aucune notification n'est envoyée à cette adresse, y compris celles en attente.",
        responses={204: OpenApiResponse(description="Abonnement supprimé.")} | AUTH_ERRORS | NOT_FOUND,
    )
    def delete(self, request, id: int):
        webhooks.webhook_endpoint_delete(endpoint=self.endpoint(id))
        return Response(status=status.HTTP_204_NO_CONTENT)
