from django.urls import path

from .views import buyer

urlpatterns = [
    path("consultations/", buyer.dashboard, name="buyer_dashboard"),
]
