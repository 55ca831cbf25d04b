"""Counting what a bucket (or a prefix of it) holds: a recursive listing, one page at a time.

Only running totals are kept, never the listing, so a bucket of millions of objects costs one page
of memory. Quota usage, size tracking and prefix sizes all count through here.
"""

from __future__ import annotations

from stowage.core.contracts.driver import StorageDriver

__all__ = ["SCAN_PAGE", "count_objects"]

SCAN_PAGE = 1000


async def count_objects(driver: StorageDriver, bucket: str, prefix: str = "") -> tuple[int, int]:
    """``(bytes, objects)`` under ``prefix`` (all of ``bucket`` when empty); driver errors propagate."""
    total = count = 0
    token = ""
    while True:
        page = await driver.list_objects(bucket, prefix=prefix, delimiter="", token=token, max_keys=SCAN_PAGE)
        total += sum(obj.size for obj in page.objects)
        count += len(page.objects)
        if not page.is_truncated or not page.next_token:
            return total, count
        token = page.next_token
