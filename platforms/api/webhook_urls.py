from django.urls import path

from . import webhook_views

urlpatterns: list = [
    path("", webhook_views.WebhookListView.as_view(), name="api_webhooks"),
    path("<int:id>/", webhook_views.WebhookDetailView.as_view(), name="api_webhook"),
]
