"""Ed25519 signing of drill reports: the key on disk, signatures as one base64 line.

The private key is PEM (PKCS8, unencrypted, mode 0600); its public half is written beside it as
`<name>.pub.pem` for auditors. A key is identified by `key_id`, the first 16 hex digits of the
SHA-256 of its raw 32 public bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "SigningKeyError",
    "key_id",
    "load_or_create_key",
    "load_public_key",
    "public_key_path",
    "sign",
    "verify_signature",
]


class SigningKeyError(Exception):
    """A key file that cannot be used; the message says which and why."""


def public_key_path(private_path: Path) -> Path:
    """`keys/drill-signing.pem` -> `keys/drill-signing.pub.pem`."""
    name = private_path.name
    stem = name[: -len(".pem")] if name.endswith(".pem") else name
    return private_path.with_name(f"{stem}.pub.pem")


def _public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_atomic(path: Path, data: bytes, mode: int, *, replace: bool) -> None:
    """Write `path` whole or not at all, with `mode` from the start (never briefly world-readable).

    With `replace=False` it fails with FileExistsError when `path` exists, so two processes
    creating the same key cannot overwrite each other.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    try:
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """Load the private key at `path`, creating it (and its public PEM beside it) on first use."""
    path = Path(path)
    pub_path = public_key_path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            _write_atomic(path, pem, 0o600, replace=False)
        except FileExistsError:
            pass  # another process created it first: use theirs
        else:
            _write_atomic(pub_path, _public_pem(key.public_key()), 0o644, replace=True)
            return key
    return _check_public(_load_private(path), path, pub_path)


def _check_public(key: Ed25519PrivateKey, path: Path, pub_path: Path) -> Ed25519PrivateKey:
    """Write a missing public PEM; refuse one that belongs to another key (auditors would trust the wrong key)."""
    expected = _public_pem(key.public_key())
    if not pub_path.exists():
        _write_atomic(pub_path, expected, 0o644, replace=True)
    elif _public_pem(load_public_key(pub_path)) != expected:
        raise SigningKeyError(f"{pub_path} is not the public half of {path}")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in a PEM file (SubjectPublicKeyInfo)."""
    path = Path(path)
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except ValueError as exc:
        raise SigningKeyError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(private_key: Ed25519PrivateKey, data: bytes) -> str:
    """The Ed25519 signature over `data`, standard base64 (one line, no newline)."""
    return base64.b64encode(private_key.sign(data)).decode("ascii")


def verify_signature(public_key: Ed25519PublicKey, data: bytes, signature_b64: str) -> bool:
    """True when `signature_b64` is a valid signature over `data`; False for bad base64 or a bad signature."""
    try:
        signature = base64.b64decode(signature_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
