"""A bounded, streaming reader for the small-upload form.

Quart's own form parsing first buffers the whole body with no cap of ours. This reads the body as
it arrives, feeds werkzeug's sans-IO multipart decoder, and stops with 413 ``too_large`` as soon
as more than ``limit`` bytes arrived (or a declared ``Content-Length`` says they will), so a
client cannot make the server hold more than the cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quart import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from stowage.core.kernel.errors import BadRequest, PayloadTooLarge

__all__ = ["UploadForm", "read_upload_form"]

MAX_PARTS = 16  # file, key, content_type and a little slack; anything more is not our form
FIELD_LIMIT = 8 * 1024  # a text field (key, content type) is small


@dataclass
class UploadForm:
    """The parsed form: text ``fields``, the ``file`` bytes, its filename and part content type."""

    fields: dict[str, str] = field(default_factory=dict)
    file: bytearray | None = None
    filename: str = ""
    file_content_type: str = ""


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"upload exceeds {limit} bytes")


async def read_upload_form(limit: int, file_limit: int) -> UploadForm:
    """Parse the request's ``multipart/form-data`` body of at most ``limit`` bytes (the ``file``
    part at most ``file_limit``)."""
    mime, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if mime != "multipart/form-data" or not boundary:
        raise BadRequest("expected a multipart/form-data body with a boundary")
    declared = request.content_length
    if declared is not None and declared > limit:
        raise _too_large(file_limit)
    # The decoder's own cap counts its unparsed buffer, which one received chunk can fill: give it
    # the whole-body cap; fields and the file are bounded separately below.
    decoder = MultipartDecoder(boundary.encode("latin-1"), limit, max_parts=MAX_PARTS)
    form, current, seen = UploadForm(), None, 0
    text = bytearray()
    async for chunk in request.body:
        seen += len(chunk)
        if seen > limit:
            raise _too_large(file_limit)
        decoder.receive_data(chunk)
        current = _drain(decoder, form, current, text, file_limit)
    decoder.receive_data(None)
    current = _drain(decoder, form, current, text, file_limit)
    if form.file is None:
        raise BadRequest("the form needs a file field")
    return form


def _drain(
    decoder: MultipartDecoder, form: UploadForm, current: str | None, text: bytearray, file_limit: int
) -> str | None:
    """Apply every event the decoder has ready; returns the name of the part being read."""
    while True:
        try:
            event = decoder.next_event()
        except (ValueError, RequestEntityTooLarge):
            raise BadRequest("malformed multipart form") from None
        if isinstance(event, NeedData | Epilogue):
            return current
        if isinstance(event, File) and event.name == "file":
            current, form.file, form.filename = "file", bytearray(), event.filename
            form.file_content_type = event.headers.get("Content-Type", "")
        elif isinstance(event, File | Field):
            current = event.name
            text.clear()
        elif isinstance(event, Data) and current == "file" and form.file is not None:
            form.file += event.data
            if len(form.file) > file_limit:
                raise _too_large(file_limit)
        elif isinstance(event, Data) and current is not None:
            text += event.data
            if len(text) > FIELD_LIMIT:
                raise BadRequest(f"form field {current} is too long")
            if not event.more_data:
                form.fields[current] = text.decode("utf-8", "replace")
