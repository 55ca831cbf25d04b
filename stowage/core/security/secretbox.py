"""The root key and sealing: AES-256-GCM in the original's byte layout.

A sealed blob is ``0x01`` (version) ‖ ``0x00`` (key id) ‖ 12-byte nonce ‖ ciphertext+tag, and the
14-byte header is the associated data. Empty plaintext seals to an empty blob.
Key sources, in order: ``STOWAGE_SECRET_KEY`` (64 hex or 44 base64 characters), then
``server.secret_key_file`` (generated with mode 0600 when missing). With neither, the server
runs without a box and the features that need one refuse with ``secret_key_unset``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import string
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stowage.core.kernel.errors import SecretKeyError

__all__ = ["SecretBox", "decode_key", "load_root_key"]

log = logging.getLogger("stowage.secrets")

VERSION = 0x01
KEY_ID = 0x00
NONCE_SIZE = 12
TAG_SIZE = 16
HEADER_SIZE = 2 + NONCE_SIZE
KEY_FORMAT_ERROR = "secrets: key must be 32 bytes encoded as 64 hex chars or 44 base64 chars"


def decode_key(text: str) -> bytes:
    """Decode a root key from 64 hex or 44 base64 characters (surrounding space trimmed)."""
    value = text.strip()
    if len(value) == 64 and all(c in string.hexdigits for c in value):
        return bytes.fromhex(value)
    if len(value) == 44:
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) == 32:
            return key
    raise SecretKeyError(KEY_FORMAT_ERROR)


def _read_or_create_key_file(path: Path) -> bytes:
    try:
        return decode_key(path.read_text(encoding="ascii"))
    except FileNotFoundError:
        pass
    except UnicodeDecodeError:
        raise SecretKeyError(f"{path}: {KEY_FORMAT_ERROR}") from None
    except SecretKeyError as exc:
        raise SecretKeyError(f"{path}: {exc}") from None
    if not path.parent.is_dir():
        raise SecretKeyError(f"server.secret_key_file: directory {path.parent} does not exist")
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process created it first: theirs wins.
        return decode_key(path.read_text(encoding="ascii"))
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex())
    log.warning(
        "generated a new root key file; back it up with the database, sealed secrets need it",
        extra={"path": str(path)},
    )
    return key


def load_root_key(secret_key_file: str, environ: Mapping[str, str] | None = None) -> bytes | None:
    """Return the root key from the environment or the key file, or None when neither is set."""
    env = os.environ if environ is None else environ
    value = env.get("STOWAGE_SECRET_KEY", "")
    if value:
        try:
            return decode_key(value)
        except SecretKeyError as exc:
            raise SecretKeyError(f"STOWAGE_SECRET_KEY: {exc}") from None
    if secret_key_file:
        return _read_or_create_key_file(Path(secret_key_file).expanduser().resolve())
    return None


class SecretBox:
    """Seals and unseals small secrets with the root key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise SecretKeyError(KEY_FORMAT_ERROR)
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never show key material
        return "SecretBox(<redacted>)"

    def seal(self, plaintext: bytes | str, *, nonce: bytes | None = None) -> bytes:
        """Seal ``plaintext``; ``nonce`` is for test vectors only (random by default)."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        if not data:
            return b""
        nonce = nonce if nonce is not None else secrets.token_bytes(NONCE_SIZE)
        if len(nonce) != NONCE_SIZE:
            raise ValueError("nonce must be 12 bytes")
        header = bytes([VERSION, KEY_ID]) + nonce
        return header + self._aead.encrypt(nonce, data, header)

    def unseal(self, blob: bytes | None) -> bytes:
        """Return the plaintext of a sealed blob; empty/NULL blobs unseal to ``b""``."""
        if not blob:
            return b""
        if len(blob) < HEADER_SIZE + TAG_SIZE:
            raise SecretKeyError("sealed blob is too short")
        if blob[0] != VERSION:
            raise SecretKeyError(f"sealed blob has unknown version {blob[0]}")
        if blob[1] != KEY_ID:
            raise SecretKeyError(f"sealed blob has unknown key id {blob[1]}")
        header, nonce = blob[:HEADER_SIZE], blob[2:HEADER_SIZE]
        try:
            return self._aead.decrypt(nonce, blob[HEADER_SIZE:], header)
        except InvalidTag:
            raise SecretKeyError("sealed blob does not open with this root key") from None

    def unseal_text(self, blob: bytes | None) -> str:
        return self.unseal(blob).decode()
