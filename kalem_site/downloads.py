"""File downloads, the same for the API and the dashboard."""

from collections.abc import Iterable

from django.http import StreamingHttpResponse


def csv_download(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    """`lines` of CSV (a generator, so a large file is never in memory) as a streamed
    attachment."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
