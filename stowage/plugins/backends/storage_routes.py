"""The storage API's blueprints (buckets, objects, uploads, multipart, copy), mounted together.

Each module owns a slice of ``/api/backends/<backend_id>/buckets…`` and renders driver errors through
``errors.api_error``; ``quota_gate`` is where quotas hook in, ``transfer`` streams cross-backend
copies, ``validation`` and ``formdata`` check what clients send.
"""

from __future__ import annotations

from quart import Blueprint

from stowage.plugins.backends.bucket_settings_api import blueprint as bucket_settings
from stowage.plugins.backends.buckets_api import blueprint as buckets
from stowage.plugins.backends.copy_api import blueprint as copies
from stowage.plugins.backends.multipart_api import blueprint as multipart
from stowage.plugins.backends.object_extras_api import blueprint as object_extras
from stowage.plugins.backends.objects_api import blueprint as objects
from stowage.plugins.backends.upload_api import blueprint as uploads

__all__ = ["STORAGE_BLUEPRINTS"]

STORAGE_BLUEPRINTS: list[Blueprint] = [buckets, objects, uploads, multipart, copies]
STORAGE_BLUEPRINTS += [bucket_settings, object_extras]
