"""The admin of webhooks: a subscription's secret shown once; deliveries read-only with their attempts, and the
"Renvoyer" action (change permission) that starts a new series of attempts."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from platforms import tasks, webhooks
from platforms.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.builders import make_user
from tests.platforms.helpers import publish_to_subscriber

pytestmark = pytest.mark.django_db


SECRET = "secret-de-la-plateforme-" + "z" * 24
CHANGELIST = reverse("admin:platforms_webhookdelivery_changelist")


@pytest.fixture
def admin_http(client, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", "admin@example.gouv.fr", "x")
    client.force_login(admin)
    return client


@pytest.fixture
def failed_delivery(receive, platform, consultation, queued, django_capture_on_commit_callbacks):
    """A publication notified to a receiver that answered 400: failed after one attempt. Then it answers 200."""
    receiver = receive(400, 200)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = publish_to_subscriber(platform=platform, consultation=consultation, url=receiver.url, secret=SECRET)
    assert tasks.deliver_webhook.run(delivery.pk) == WebhookDelivery.Status.FAILED
    queued.clear()
    delivery.receiver = receiver
    return delivery


def resend(http, *deliveries):
    return http.post(
        CHANGELIST, {"action": "resend", "_selected_action": [delivery.pk for delivery in deliveries]}, follow=True
    )


def test_resending_starts_a_new_series_and_keeps_the_old_attempts(
    admin_http, failed_delivery, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = resend(admin_http, failed_delivery)

    assert response.status_code == 200
    assert "1 notification remise en file d&#x27;envoi." in response.content.decode()
    failed_delivery.refresh_from_db()
    assert (failed_delivery.status, failed_delivery.attempts, failed_delivery.last_error) == ("pending", 0, "")
    assert queued == [(failed_delivery.pk, None)]

    assert tasks.deliver_webhook.run(failed_delivery.pk) == WebhookDelivery.Status.DELIVERED

    rows = list(WebhookAttempt.objects.filter(delivery=failed_delivery).values_list("number", "http_status"))
    assert rows == [(1, 400), (2, 200)]
    assert len(failed_delivery.receiver.received) == 2
    # The counter of the delivery is the current series', the rows number every attempt: the page says which.
    failed_delivery.refresh_from_db()
    assert failed_delivery.attempts == 1
    page = admin_http.get(reverse("admin:platforms_webhookdelivery_change", args=[failed_delivery.pk]))
    assert "Tentatives (série en cours)" in page.content.decode()


def test_a_delivery_being_sent_is_not_resent(admin_http, failed_delivery, queued, django_capture_on_commit_callbacks):
    WebhookDelivery.objects.filter(pk=failed_delivery.pk).update(status=WebhookDelivery.Status.SENDING)

    with django_capture_on_commit_callbacks(execute=True):
        response = resend(admin_http, failed_delivery)

    assert "1 notification en cours d&#x27;envoi n&#x27;a pas été renvoyée." in response.content.decode()
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookDelivery.Status.SENDING
    assert queued == []


def test_resending_needs_the_change_permission(client, failed_delivery, queued, django_capture_on_commit_callbacks):
    viewer = make_user("operateur")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="platforms", codename__in=["view_webhookdelivery", "view_webhookattempt"]
        )
    )
    client.force_login(viewer)

    listing = client.get(CHANGELIST)
    with django_capture_on_commit_callbacks(execute=True):
        resend(client, failed_delivery)

    assert listing.status_code == 200
    assert 'value="resend"' not in listing.content.decode()
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookDelivery.Status.FAILED
    assert queued == []


def test_the_changelist_filters_by_status_and_event(admin_http, failed_delivery):
    failed = admin_http.get(CHANGELIST, {"status__exact": "failed", "event__exact": "consultation.published"})
    delivered = admin_http.get(CHANGELIST, {"status__exact": "delivered"})

    assert failed.context["cl"].result_count == 1
    assert delivered.context["cl"].result_count == 0


def test_the_delivery_page_shows_the_payload_and_the_attempts_read_only(admin_http, failed_delivery):
    response = admin_http.get(reverse("admin:platforms_webhookdelivery_change", args=[failed_delivery.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "&quot;reference&quot;: &quot;MARCHE-2026-01&quot;" in page
    assert "Réponse HTTP 400 : refusée par la plateforme, non retentée." in page
    assert 'name="_save"' not in page
    assert SECRET not in page


def test_the_delivery_page_cannot_be_changed(admin_http, failed_delivery):
    url = reverse("admin:platforms_webhookdelivery_change", args=[failed_delivery.pk])

    response = admin_http.post(url, {"status": "delivered"})

    assert response.status_code == 403
    failed_delivery.refresh_from_db()
    assert failed_delivery.status == WebhookDelivery.Status.FAILED


def test_creating_a_subscription_shows_its_generated_secret_once(admin_http, platform):
    response = admin_http.post(
        reverse("admin:platforms_webhookendpoint_add"),
        {
            "api_client": platform.client.pk,
            "url": "https://plateforme.example/webhooks",
            "events": ["candidature.submitted", "consultation.published"],
            "new_secret": "",
            "is_active": "on",
        },
    )

    assert response.status_code == 200, response.context["adminform"].form.errors if response.context else ""
    endpoint = WebhookEndpoint.objects.get()
    assert len(endpoint.secret) >= 32
    page = response.content.decode()
    assert response.templates[0].name == "admin/platforms/secret_shown_once.html"
    assert '<label for="shown-secret">Secret de signature</label>' in page
    assert f'id="shown-secret" class="vTextField" value="{endpoint.secret}" readonly' in page
    assert page.count(endpoint.secret) == 1
    assert endpoint.events == ["candidature.submitted", "consultation.published"]
    change = admin_http.get(reverse("admin:platforms_webhookendpoint_change", args=[endpoint.pk]))
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()
    listing = admin_http.get(reverse("admin:platforms_webhookendpoint_changelist"))
    assert endpoint.secret not in listing.content.decode()


def test_a_subscription_keeps_a_given_secret(admin_http, platform):
    admin_http.post(
        reverse("admin:platforms_webhookendpoint_add"),
        {
            "api_client": platform.client.pk,
            "url": "https://plateforme.example/webhooks",
            "events": ["candidature.submitted"],
            "new_secret": SECRET,
            "is_active": "on",
        },
    )

    assert WebhookEndpoint.objects.get().secret == SECRET


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"new_secret": "court"}, "new_secret"),
        ({"events": []}, "events"),
        ({"url": "http://127.0.0.1/hook"}, "url"),
    ],
)
def test_an_invalid_subscription_is_refused(admin_http, platform, settings, data, field):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    form = {
        "api_client": platform.client.pk,
        "url": "https://plateforme.example/webhooks",
        "events": ["candidature.submitted"],
        "new_secret": "",
        "is_active": "on",
    } | data

    response = admin_http.post(reverse("admin:platforms_webhookendpoint_add"), form)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not WebhookEndpoint.objects.exists()


def test_a_subscription_is_edited_without_its_secret(admin_http, platform):
    endpoint, _ = webhooks.webhook_endpoint_create(
        api_client=platform.client, url="https://plateforme.example/a", events=["candidature.submitted"], secret=SECRET
    )

    response = admin_http.post(
        reverse("admin:platforms_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://plateforme.example/b", "events": ["consultation.published"]},
    )

    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.events, endpoint.is_active, endpoint.secret) == (
        "https://plateforme.example/b",
        ["consultation.published"],
        False,
        SECRET,
    )


def test_an_edited_subscription_follows_the_same_rules(admin_http, platform, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    endpoint, _ = webhooks.webhook_endpoint_create(
        api_client=platform.client, url="https://plateforme.example/a", events=["candidature.submitted"], secret=SECRET
    )

    response = admin_http.post(
        reverse("admin:platforms_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://10.0.0.8/hook", "events": ["consultation.published"]},
    )

    assert response.status_code == 200
    assert "10.0.0.8" in response.context["adminform"].form.errors["url"][0]
    endpoint.refresh_from_db()
    assert endpoint.url == "https://plateforme.example/a"


def test_a_subscription_deleted_by_the_platform_cannot_be_switched_on_again(admin_http, platform):
    endpoint, _ = webhooks.webhook_endpoint_create(
        api_client=platform.client, url="https://plateforme.example/a", events=["candidature.submitted"], secret=SECRET
    )
    webhooks.webhook_endpoint_delete(endpoint=endpoint)

    admin_http.post(
        reverse("admin:platforms_webhookendpoint_change", args=[endpoint.pk]),
        {"url": "https://plateforme.example/a", "events": ["candidature.submitted"], "is_active": "on"},
    )

    endpoint.refresh_from_db()
    assert endpoint.is_active is False
