"""Encryption at rest of the upstream tokens users store with us.

MultiFernet over the keys in settings.TOKEN_ENCRYPTION_KEYS: the first key encrypts, every key
decrypts, so keys rotate by prepending a new one and re-encrypting (`manage.py rotate_token_keys`).
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UndecryptableSecret(Exception):
    """A stored secret that none of the configured keys opens (a key was removed too early)."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _current() -> MultiFernet:
    return _fernet(tuple(settings.TOKEN_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _current().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret("A stored secret cannot be decrypted with the configured keys.") from None


def reencrypt(ciphertext: str) -> str:
    """The same secret encrypted under the first (newest) key."""
    try:
        return _current().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret("A stored secret cannot be decrypted with the configured keys.") from None
