from django.urls import include, path

urlpatterns: list = [
    path("webhooks/", include("platforms.api.webhook_urls")),
]
