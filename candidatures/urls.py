from django.urls import include, path

from .views import common, company

urlpatterns = [
    path("", common.home, name="home"),
    path("tableau-de-bord/", common.dashboard, name="dashboard"),
    path("c/<str:reference>/", company.consultation_public, name="consultation_public"),
    path("candidatures/", company.dashboard, name="company_dashboard"),
    path("candidatures/<int:pk>/", company.candidature_detail, name="candidature"),
    path("candidatures/<int:pk>/progression/", company.candidature_progress, name="candidature_progress"),
    path("candidatures/<int:pk>/informations/", company.candidature_declare, name="candidature_declare"),
    path("candidatures/<int:pk>/pieces/<str:piece>/", company.piece_upload, name="piece_upload"),
    path(
        "candidatures/<int:pk>/sources/<str:source>/actualiser/",
        company.candidature_refetch,
        name="candidature_refetch",
    ),
    path("candidatures/<int:pk>/motifs/", company.candidature_exclusions, name="candidature_exclusions"),
    path("candidatures/<int:pk>/motifs/<int:flag>/contester/", company.flag_contest, name="flag_contest"),
    path("candidatures/<int:pk>/recapitulatif/", company.candidature_submit, name="candidature_submit"),
    path("candidatures/<int:pk>/recepisse.pdf", company.candidature_receipt, name="candidature_receipt"),
    path("candidatures/<int:pk>/documents/<int:document>/", company.document_download, name="candidature_document"),
    path(
        "candidatures/<int:pk>/contestations/<int:attachment>/",
        company.contestation_file,
        name="company_contestation_file",
    ),
    path("acheteur/", include("candidatures.buyer_urls")),
]
