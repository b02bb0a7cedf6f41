from django.urls import path

from .views import buyer

urlpatterns = [
    path("consultations/", buyer.dashboard, name="buyer_dashboard"),
    path("consultations/nouvelle/", buyer.consultation_create, name="consultation_create"),
    path("consultations/<int:pk>/", buyer.consultation_review, name="consultation_review"),
    path("consultations/<int:pk>/modifier/", buyer.consultation_edit, name="consultation_edit"),
    path("consultations/<int:pk>/publier/", buyer.consultation_publish, name="consultation_publish"),
    path("candidatures/<int:pk>/", buyer.candidature_detail, name="buyer_candidature"),
    path("candidatures/<int:pk>/sources/<str:source>/actualiser/", buyer.candidature_refetch, name="buyer_refetch"),
    path("candidatures/<int:pk>/recepisse.pdf", buyer.candidature_receipt, name="buyer_receipt"),
    path("candidatures/<int:pk>/dossier.zip", buyer.candidature_zip, name="buyer_zip"),
    path("candidatures/<int:pk>/documents/<int:document>/", buyer.document_download, name="buyer_document"),
    path(
        "candidatures/<int:pk>/contestations/<int:attachment>/",
        buyer.contestation_file,
        name="buyer_contestation_file",
    ),
    path("suivi-de-vigilance/", buyer.vigilance_page, name="buyer_vigilance"),
    path("candidatures/<int:pk>/attribution/", buyer.candidature_award, name="buyer_award"),
    path("candidatures/<int:pk>/suivi-de-vigilance/fin/", buyer.vigilance_end, name="buyer_vigilance_end"),
]
