from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from ..access import buyer_organisation


def home(request):
    return render(request, "public/home.html")


@login_required
def dashboard(request):
    """One entry after sign-in: the buyer's consultations or the company's candidatures."""
    if buyer_organisation(request) is not None:
        return redirect("buyer_dashboard")
    return redirect("company_dashboard")
