from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from ..access import require_buyer


@login_required
def dashboard(request):
    organisation = require_buyer(request)
    return render(request, "acheteur/dashboard.html", {"organisation": organisation})
