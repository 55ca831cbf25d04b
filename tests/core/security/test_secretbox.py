"""Root key and sealing: the original's byte layout, key encodings and sources."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stowage.core.kernel.errors import SecretKeyError
from stowage.core.security.secretbox import SecretBox, decode_key, load_root_key

KEY = bytes(range(32))
KEY_HEX = KEY.hex()
KEY_B64 = base64.b64encode(KEY).decode()
SEC2 = "secrets: key must be 32 bytes encoded as 64 hex chars or 44 base64 chars"


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(KEY)


# --- sealing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext", [b"x", b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", bytes(range(256)) * 4]
)
def test_round_trip(box: SecretBox, plaintext: bytes) -> None:
    blob = box.seal(plaintext)
    assert blob != plaintext
    assert len(blob) == 2 + 12 + len(plaintext) + 16
    assert box.unseal(blob) == plaintext


def test_str_plaintext_is_utf8(box: SecretBox) -> None:
    blob = box.seal("pässwörd")
    assert box.unseal(blob) == "pässwörd".encode()
    assert box.unseal_text(blob) == "pässwörd"


def test_nonces_are_random(box: SecretBox) -> None:
    first, second = box.seal(b"same"), box.seal(b"same")
    assert first[2:14] != second[2:14]
    assert first != second


def test_independent_vector(box: SecretBox) -> None:
    nonce = bytes.fromhex("000102030405060708090a0b")
    header = bytes([0x01, 0x00]) + nonce
    plaintext = b"backend secret key"
    expected = header + AESGCM(KEY).encrypt(nonce, plaintext, header)
    sealed = box.seal(plaintext, nonce=nonce)
    assert sealed == expected
    assert sealed[:14] == header
    # And a blob built outside the box opens inside it.
    assert box.unseal(expected) == plaintext


def test_header_is_authenticated(box: SecretBox) -> None:
    # Ciphertext made without the header as AAD must not open.
    nonce = bytes(12)
    foreign = bytes([0x01, 0x00]) + nonce + AESGCM(KEY).encrypt(nonce, b"secret", None)
    with pytest.raises(SecretKeyError):
        box.unseal(foreign)


def test_nonce_must_be_twelve_bytes(box: SecretBox) -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        box.seal(b"x", nonce=bytes(8))


@pytest.mark.parametrize("empty", [b"", ""])
def test_empty_plaintext_seals_to_empty(box: SecretBox, empty: bytes | str) -> None:
    assert box.seal(empty) == b""


@pytest.mark.parametrize("blob", [b"", None])
def test_empty_blob_unseals_to_empty(box: SecretBox, blob: bytes | None) -> None:
    assert box.unseal(blob) == b""
    assert box.unseal_text(blob) == ""


def test_unseal_rejects_unknown_version(box: SecretBox) -> None:
    blob = bytearray(box.seal(b"secret"))
    blob[0] = 0x02
    with pytest.raises(SecretKeyError, match="unknown version 2"):
        box.unseal(bytes(blob))


def test_unseal_rejects_unknown_key_id(box: SecretBox) -> None:
    blob = bytearray(box.seal(b"secret"))
    blob[1] = 0x01
    with pytest.raises(SecretKeyError, match="unknown key id 1"):
        box.unseal(bytes(blob))


@pytest.mark.parametrize("length", [1, 2, 14, 29])
def test_unseal_rejects_short_blob(box: SecretBox, length: int) -> None:
    blob = box.seal(b"secret")[:length]
    with pytest.raises(SecretKeyError, match="too short"):
        box.unseal(blob)


def test_minimal_blob_is_header_plus_tag(box: SecretBox) -> None:
    nonce = bytes(12)
    header = b"\x01\x00" + nonce
    tag_only = header + AESGCM(KEY).encrypt(nonce, b"", header)
    assert len(tag_only) == 30
    assert box.unseal(tag_only) == b""  # not "too short": exactly header + tag


@pytest.mark.parametrize("index", [2, 13, 14, 20, -1])
def test_unseal_rejects_a_tampered_byte(box: SecretBox, index: int) -> None:
    blob = bytearray(box.seal(b"secret value"))
    blob[index] ^= 0x01
    with pytest.raises(SecretKeyError, match="does not open"):
        box.unseal(bytes(blob))


def test_unseal_rejects_wrong_key(box: SecretBox) -> None:
    blob = box.seal(b"secret")
    with pytest.raises(SecretKeyError, match="does not open with this root key"):
        SecretBox(bytes(32)).unseal(blob)


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_box_needs_a_32_byte_key(size: int) -> None:
    with pytest.raises(SecretKeyError, match="32 bytes"):
        SecretBox(bytes(size))


def test_repr_never_shows_the_key(box: SecretBox) -> None:
    for text in (repr(box), str(box)):
        assert KEY_HEX not in text
        assert KEY_B64 not in text
        assert repr(KEY) not in text
        assert "redacted" in text


# --- key encodings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [KEY_HEX, KEY_HEX.upper(), f"  {KEY_HEX}\n", KEY_B64, f"\t{KEY_B64}\r\n"],
)
def test_decode_key_accepts_hex_and_base64(text: str) -> None:
    assert decode_key(text) == KEY


@pytest.mark.parametrize(
    "text",
    [
        "",
        KEY_HEX[:-2],  # 31 bytes of hex
        KEY_HEX + "00",  # 33 bytes
        "zz" + KEY_HEX[2:],  # 64 chars, not hex
        base64.b64encode(bytes(31)).decode(),  # 44 chars, 31 bytes
        base64.b64encode(bytes(33)).decode(),  # 44 chars, 33 bytes
        base64.b64encode(KEY).decode().rstrip("="),  # 43 chars
        base64.urlsafe_b64encode(b"\xfb" * 32).decode(),  # URL-safe alphabet is not standard base64
        "0x" + KEY_HEX,
        KEY_HEX[:30] + "\t\n" + KEY_HEX[32:],  # 64 characters with inner whitespace: 31 bytes
        KEY_HEX[:32] + "  " + KEY_HEX[34:],  # 64 characters, two inner spaces: 31 bytes
    ],
)
def test_decode_key_rejects_everything_else(text: str) -> None:
    with pytest.raises(SecretKeyError) as info:
        decode_key(text)
    assert str(info.value) == SEC2


# --- key sources ----------------------------------------------------------------


def test_no_source_means_no_key() -> None:
    assert load_root_key("", environ={}) is None


def test_env_wins_over_the_file(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    key_file.write_text(bytes(32).hex(), encoding="ascii")
    assert load_root_key(str(key_file), environ={"STOWAGE_SECRET_KEY": KEY_B64}) == KEY
    assert key_file.read_text(encoding="ascii") == bytes(32).hex()


def test_env_key_does_not_create_the_file(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    assert load_root_key(str(key_file), environ={"STOWAGE_SECRET_KEY": KEY_HEX}) == KEY
    assert not key_file.exists()


def test_empty_env_value_falls_back_to_the_file(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    key_file.write_text(KEY_HEX, encoding="ascii")
    assert load_root_key(str(key_file), environ={"STOWAGE_SECRET_KEY": ""}) == KEY


@pytest.mark.parametrize("value", ["short", KEY_HEX[:-1], "  ", KEY_HEX[:32] + "  " + KEY_HEX[34:]])
def test_invalid_env_value_names_the_variable(tmp_path: Path, value: str) -> None:
    with pytest.raises(SecretKeyError) as info:
        load_root_key("", environ={"STOWAGE_SECRET_KEY": value})
    assert str(info.value) == f"STOWAGE_SECRET_KEY: {SEC2}"


def test_missing_file_is_generated_0600_with_64_hex_chars(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    key = load_root_key(str(key_file), environ={})
    assert key is not None
    assert len(key) == 32
    text = key_file.read_text(encoding="ascii")
    assert len(text) == 64
    assert text == key.hex()  # hex, no newline
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # Loading again reads the same key instead of generating another.
    assert load_root_key(str(key_file), environ={}) == key


def test_generation_logs_a_backup_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key_file = tmp_path / "stowage.key"
    with caplog.at_level("WARNING", logger="stowage.secrets"):
        key = load_root_key(str(key_file), environ={})
    assert key is not None
    records = [r for r in caplog.records if r.name == "stowage.secrets"]
    assert len(records) == 1
    assert "back it up" in records[0].getMessage()
    assert key.hex() not in records[0].getMessage()


@pytest.mark.parametrize("content", [KEY_HEX, f"{KEY_HEX}\n", f"  {KEY_B64}  \n"])
def test_existing_file_is_read(tmp_path: Path, content: str) -> None:
    key_file = tmp_path / "stowage.key"
    key_file.write_text(content, encoding="ascii")
    assert load_root_key(str(key_file), environ={}) == KEY
    assert key_file.read_text(encoding="ascii") == content  # untouched


def test_invalid_file_names_the_path(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    key_file.write_text("not a key", encoding="ascii")
    with pytest.raises(SecretKeyError) as info:
        load_root_key(str(key_file), environ={})
    assert str(info.value) == f"{key_file.resolve()}: {SEC2}"


def test_non_ascii_file_is_a_key_error(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    key_file.write_bytes(b"\xff" * 64)
    with pytest.raises(SecretKeyError, match="64 hex chars"):
        load_root_key(str(key_file), environ={})


def test_missing_parent_directory_is_an_error(tmp_path: Path) -> None:
    key_file = tmp_path / "missing" / "stowage.key"
    with pytest.raises(SecretKeyError) as info:
        load_root_key(str(key_file), environ={})
    assert "server.secret_key_file" in str(info.value)
    assert str(tmp_path / "missing") in str(info.value)
    assert not (tmp_path / "missing").exists()


def test_generated_key_seals_and_reopens(tmp_path: Path) -> None:
    key_file = tmp_path / "stowage.key"
    first = load_root_key(str(key_file), environ={})
    assert first is not None
    blob = SecretBox(first).seal(b"kept across restarts")
    second = load_root_key(str(key_file), environ={})
    assert second is not None
    assert SecretBox(second).unseal(blob) == b"kept across restarts"
