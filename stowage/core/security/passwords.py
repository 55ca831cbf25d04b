"""Password hashing and the password policy.

Hashes are argon2id PHC strings in exactly the original's form, so hashes move between the two::

    $argon2id$v=19$m=65536,t=3,p=2$<16-byte salt, unpadded base64>$<32-byte hash, unpadded base64>

Verification reads m/t/p from the string (older or tuned hashes keep working), requires
``v=19`` and compares in constant time. Each hash costs ~64 MiB and ~100 ms of CPU, so the async
variants run in a worker thread and at most ``MAX_CONCURRENT`` run at once per event loop; the
CLI uses the ``*_sync`` variants. ``DUMMY_HASH`` is verified for unknown or disabled accounts so a
login costs the same whether or not the user exists.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import os
import re
import weakref
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from stowage.core.kernel.errors import BadRequest

__all__ = [
    "DUMMY_HASH",
    "PhcHash",
    "check_password_policy",
    "hash_password",
    "hash_password_sync",
    "parse_phc",
    "verify_password",
    "verify_password_sync",
]

MEMORY_KIB = 65536
ITERATIONS = 3
PARALLELISM = 2
SALT_BYTES = 16
HASH_BYTES = 32
MAX_CONCURRENT = 2

# A real hash of a random throw-away password with the default parameters: verifying against it
# costs exactly what a real verification costs, and no password matches it in practice.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=2$g+eoBMBejNqBSOUcfrKZjA$/LIIGdog1oklwRBk5vnuXpAqmBdgbSpUznHG7hjJJJA"
)

_PHC = re.compile(r"\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")
# asyncio primitives bind to the loop that first waits on them; keep one semaphore per loop.
_SEMAPHORES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class PhcHash:
    """A parsed argon2id PHC string."""

    memory_kib: int
    iterations: int
    parallelism: int
    salt: bytes
    digest: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def parse_phc(phc: str) -> PhcHash:
    """Parse an argon2id PHC string; ``ValueError`` when it is malformed or not ``v=19``."""
    match = _PHC.fullmatch(phc.strip())
    if match is None:
        raise ValueError("not an argon2id PHC string")
    version, memory, iterations, parallelism, salt, digest = match.groups()
    if version != "19":
        raise ValueError(f"unsupported argon2 version v={version}")
    try:
        parsed = PhcHash(int(memory), int(iterations), int(parallelism), _unb64(salt), _unb64(digest))
    except ValueError:
        raise ValueError("malformed base64 in PHC string") from None
    if not (parsed.memory_kib and parsed.iterations and parsed.parallelism and parsed.digest):
        raise ValueError("argon2 parameters must be positive")
    return parsed


def _raw(password: str, salt: bytes, memory: int, iterations: int, parallelism: int, length: int) -> bytes:
    return hash_secret_raw(password.encode("utf-8"), salt, iterations, memory, parallelism, length, Type.ID)


def hash_password_sync(password: str) -> str:
    """Hash ``password`` with the default parameters; returns the PHC string (blocks ~100 ms)."""
    salt = os.urandom(SALT_BYTES)
    digest = _raw(password, salt, MEMORY_KIB, ITERATIONS, PARALLELISM, HASH_BYTES)
    params = f"m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}"
    return f"$argon2id$v=19${params}${_b64(salt)}${_b64(digest)}"


def verify_password_sync(password: str, phc: str) -> bool:
    """True when ``password`` matches ``phc``; False for a mismatch or a malformed hash."""
    try:
        parsed = parse_phc(phc)
    except ValueError:
        return False
    digest = _raw(
        password, parsed.salt, parsed.memory_kib, parsed.iterations, parsed.parallelism, len(parsed.digest)
    )
    return hmac.compare_digest(digest, parsed.digest)


def _semaphore() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    sem = _SEMAPHORES.get(loop)
    if sem is None:
        sem = _SEMAPHORES[loop] = asyncio.Semaphore(MAX_CONCURRENT)
    return sem


async def hash_password(password: str) -> str:
    """``hash_password_sync`` off the event loop, bounded to ``MAX_CONCURRENT`` at a time."""
    async with _semaphore():
        return await asyncio.to_thread(hash_password_sync, password)


async def verify_password(password: str, phc: str) -> bool:
    """``verify_password_sync`` off the event loop, bounded to ``MAX_CONCURRENT`` at a time."""
    async with _semaphore():
        return await asyncio.to_thread(verify_password_sync, password, phc)


def check_password_policy(password: str, min_length: int) -> None:
    """Raise 400 ``weak_password`` when ``password`` is shorter than ``min_length`` bytes."""
    if len(password.encode("utf-8")) < min_length:
        raise BadRequest(f"password must be at least {min_length} characters", code="weak_password")
