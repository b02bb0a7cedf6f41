from django.urls import include, path, re_path

from . import views

urlpatterns: list = [
    path("webhooks/", include("platforms.api.webhook_urls")),
    path("consultations/", views.ConsultationListView.as_view(), name="api_consultations"),
    path("consultations/<int:id>/", views.ConsultationDetailView.as_view(), name="api_consultation"),
    path("consultations/<int:id>/publish/", views.ConsultationPublishView.as_view(), name="api_consultation_publish"),
    path(
        "consultations/<int:id>/candidatures/",
        views.ConsultationCandidaturesView.as_view(),
        name="api_consultation_candidatures",
    ),
    path("candidatures/<int:id>/", views.CandidatureDetailView.as_view(), name="api_candidature"),
    path("candidatures/<int:id>/dossier/", views.CandidatureDossierView.as_view(), name="api_candidature_dossier"),
    path("candidatures/<int:id>/refresh/", views.CandidatureRefreshView.as_view(), name="api_candidature_refresh"),
    path(
        "candidatures/<int:id>/documents/<int:document_id>/",
        views.DocumentView.as_view(),
        name="api_document",
    ),
    path("candidatures/<int:id>/receipt/", views.ReceiptView.as_view(), name="api_candidature_receipt"),
    path("candidatures/<int:id>/zip/", views.ZipView.as_view(), name="api_candidature_zip"),
    # Last: any other address under /api/v1/ is a JSON 404, not the HTML page of the site.
    re_path(r"^.*$", views.not_found),
]
