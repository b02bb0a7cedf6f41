from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


consultation_public = dashboard = candidature_detail = candidature_progress = candidature_declare = _todo
piece_upload = candidature_refetch = candidature_exclusions = flag_contest = candidature_submit = _todo
candidature_receipt = document_download = _todo
