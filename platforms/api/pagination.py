from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=2&page_size=100`; answers {"count", "next", "previous", "results"}."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
