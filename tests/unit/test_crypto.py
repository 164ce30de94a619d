"""Envelope encryption: wrapped data keys bound to their dossier, rotation, sealing, pseudonyms."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import pytest

from hub.crypto import (
    KeyringError,
    MasterKeyring,
    Pseudonymizer,
    WrappedKey,
    generate_key_text,
    new_data_key,
    open_json,
    open_sealed,
    seal,
    seal_json,
)

DOSSIER = "000.00.30.H30-261129-0001"
OTHER = "000.00.30.H30-261129-0002"
NAME = "Nguyễn Thị Hồng Nhung, ấp Tân Phú, xã Vị Thủy"


def keyring(**keys: bytes) -> MasterKeyring:
    return MasterKeyring(keys, active=list(keys)[-1])


def unchained(error: BaseException) -> bool:
    """No underlying exception (which could hold the value) shows in the traceback."""
    return error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_wrapped_key_unwraps_to_the_data_key() -> None:
    ring = keyring(m1=os.urandom(32))
    data_key = new_data_key()
    wrapped = ring.wrap(DOSSIER, data_key)
    assert wrapped.master_id == "m1"
    assert data_key not in wrapped.blob
    assert ring.unwrap(DOSSIER, wrapped) == data_key


def test_a_wrapped_key_moved_to_another_dossier_does_not_unwrap() -> None:
    ring = keyring(m1=os.urandom(32))
    wrapped = ring.wrap(DOSSIER, new_data_key())
    with pytest.raises(KeyringError, match="does not authenticate"):
        ring.unwrap(OTHER, wrapped)


def test_a_wrapped_key_relabelled_to_another_master_id_does_not_unwrap() -> None:
    same = os.urandom(32)
    ring = MasterKeyring({"m1": same, "m2": same}, active="m1")
    wrapped = ring.wrap(DOSSIER, new_data_key())
    with pytest.raises(KeyringError, match="does not authenticate"):
        ring.unwrap(DOSSIER, WrappedKey("m2", wrapped.blob))


def test_unknown_master_id_is_named() -> None:
    wrapped = keyring(gone=os.urandom(32)).wrap(DOSSIER, new_data_key())
    with pytest.raises(KeyringError, match="no master key gone"):
        keyring(m1=os.urandom(32)).unwrap(DOSSIER, wrapped)


def test_rotation_rewraps_under_the_new_key_only() -> None:
    old, new = os.urandom(32), os.urandom(32)
    data_key = new_data_key()
    wrapped = keyring(old=old).wrap(DOSSIER, data_key)
    both = MasterKeyring({"old": old, "new": new}, active="new")
    rewrapped = both.rewrap(DOSSIER, wrapped)
    assert rewrapped.master_id == "new"
    assert keyring(new=new).unwrap(DOSSIER, rewrapped) == data_key
    with pytest.raises(KeyringError, match="no master key new"):
        keyring(old=old).unwrap(DOSSIER, rewrapped)
    assert both.rewrap(DOSSIER, rewrapped) is rewrapped


def test_keyring_checks_its_keys() -> None:
    with pytest.raises(KeyringError, match="active master key 'm2'"):
        MasterKeyring({"m1": os.urandom(32)}, active="m1".replace("1", "2"))
    with pytest.raises(KeyringError, match="'m1' must be 32 bytes"):
        MasterKeyring({"m1": os.urandom(16)}, active="m1")
    with pytest.raises(KeyringError, match="id must be"):
        MasterKeyring({"bad id": os.urandom(32)}, active="bad id")
    with pytest.raises(KeyringError, match="id must be"):
        MasterKeyring({"x" * 33: os.urandom(32)}, active="x" * 33)


def test_keyring_does_not_show_or_share_its_keys() -> None:
    key = os.urandom(32)
    keys = {"m1": key}
    ring = MasterKeyring(keys, active="m1")
    keys["m1"] = os.urandom(32)
    assert ring.keys["m1"] == key
    assert repr(key) not in repr(ring)


def test_from_text_decodes_base64_keys() -> None:
    text = generate_key_text()
    ring = MasterKeyring.from_text({"k-2026.1": text}, active="k-2026.1")
    assert ring.keys["k-2026.1"] == base64.b64decode(text)
    assert len(ring.keys["k-2026.1"]) == 32
    assert generate_key_text() != text


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not base64 at all!!", "is not valid base64"),
        (base64.b64encode(b"k" * 32).decode()[:-2], "is not valid base64"),
        (base64.b64encode(b"short-key-material").decode(), "must decode to 32 bytes, not 18"),
        ("Nguyễn", "is not valid base64"),
    ],
)
def test_from_text_names_the_bad_key_but_not_its_value(text: str, complaint: str) -> None:
    with pytest.raises(KeyringError, match=complaint) as raised:
        MasterKeyring.from_text({"prod-1": text}, active="prod-1")
    assert "'prod-1'" in str(raised.value)
    assert text not in str(raised.value)
    assert unchained(raised.value)


def test_sealed_text_opens_in_its_context() -> None:
    key = new_data_key()
    sealed = seal(key, NAME.encode(), b"dossier/ChuHoSo")
    assert NAME.encode() not in sealed
    assert sealed[0] == 1
    assert open_sealed(key, sealed, b"dossier/ChuHoSo").decode() == NAME


def test_sealed_text_does_not_open_in_another_context_or_key() -> None:
    key = new_data_key()
    sealed = seal(key, NAME.encode(), b"dossier/ChuHoSo")
    with pytest.raises(KeyringError, match="does not authenticate"):
        open_sealed(key, sealed, b"dossier/SoDienThoai")
    with pytest.raises(KeyringError, match="does not authenticate"):
        open_sealed(new_data_key(), sealed, b"dossier/ChuHoSo")


@pytest.mark.parametrize("position", [1, 13, -1])  # nonce, ciphertext, tag
def test_an_altered_byte_is_detected(position: int) -> None:
    key = new_data_key()
    sealed = bytearray(seal(key, NAME.encode(), b"ctx"))
    sealed[position] ^= 0x01
    with pytest.raises(KeyringError, match="does not authenticate"):
        open_sealed(key, bytes(sealed), b"ctx")


def test_unknown_version_and_short_input_are_refused() -> None:
    key = new_data_key()
    sealed = seal(key, b"x", b"ctx")
    with pytest.raises(KeyringError, match="unknown version 2"):
        open_sealed(key, b"\x02" + sealed[1:], b"ctx")
    with pytest.raises(KeyringError, match="too short"):
        open_sealed(key, sealed[:20], b"ctx")


def test_two_seals_of_one_plaintext_differ() -> None:
    key = new_data_key()
    first, second = seal(key, b"same", b"ctx"), seal(key, b"same", b"ctx")
    assert first != second
    assert first[1:13] != second[1:13]


def test_json_round_trip_keeps_vietnamese_text() -> None:
    key = new_data_key()
    value = {"hoVaTen": NAME, "soDienThoai": "0912345678", "diaChi": {"xa": "Vị Thủy"}}
    sealed = seal_json(key, value, b"dossier/DiaChiNhanKetQua")
    assert open_json(key, sealed, b"dossier/DiaChiNhanKetQua") == value
    # Compact, sorted, UTF-8: the sealed size is the plaintext's plus the fixed overhead.
    plain = '{"diaChi":{"xa":"Vị Thủy"},"hoVaTen":"' + NAME + '","soDienThoai":"0912345678"}'
    assert len(sealed) == 1 + 12 + len(plain.encode()) + 16


def test_sealed_non_json_is_refused_without_echoing_it() -> None:
    key = new_data_key()
    sealed = seal(key, NAME.encode(), b"ctx")
    with pytest.raises(KeyringError, match="not JSON") as raised:
        open_json(key, sealed, b"ctx")
    assert NAME not in str(raised.value)
    assert unchained(raised.value)


def test_pseudonym_is_deterministic_keyed_and_hides_the_id() -> None:
    citizen_id = "001203004567"
    first = Pseudonymizer(os.urandom(32))
    assert first.pseudonym(citizen_id) == first.pseudonym(" 001 203 004567 ")
    assert first.pseudonym(citizen_id) != first.pseudonym("001203004568")
    assert first.pseudonym(citizen_id) != Pseudonymizer(os.urandom(32)).pseudonym(citizen_id)
    assert citizen_id not in first.pseudonym(citizen_id)
    assert len(first.pseudonym(citizen_id)) == 64


def test_pseudonym_key_must_be_long_enough() -> None:
    with pytest.raises(KeyringError, match="at least 32 bytes"):
        Pseudonymizer(os.urandom(31))
    key = os.urandom(32)
    assert repr(key) not in repr(Pseudonymizer(key))


def test_error_messages_carry_no_plaintext_or_key() -> None:
    key_text = generate_key_text()
    ring = MasterKeyring.from_text({"m1": key_text}, active="m1")
    data_key = new_data_key()
    sealed = seal(data_key, NAME.encode(), b"ctx")
    attempts: list[Callable[[], object]] = [
        lambda: open_sealed(data_key, sealed, b"other"),
        lambda: open_sealed(new_data_key(), sealed, b"ctx"),
        lambda: ring.unwrap(OTHER, ring.wrap(DOSSIER, data_key)),
        lambda: MasterKeyring.from_text({"m1": key_text[:-4]}, active="m1"),
        lambda: ring.wrap(DOSSIER, data_key[:16]),
    ]
    secrets = [NAME, key_text, key_text[:-4], repr(data_key), data_key.hex(), repr(ring.keys["m1"])]
    for attempt in attempts:
        with pytest.raises(KeyringError) as raised:
            attempt()
        message = str(raised.value)
        assert not [s for s in secrets if s in message], message
