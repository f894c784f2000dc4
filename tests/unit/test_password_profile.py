"""Staff password hashes: argon2id at the library's defaults in production, at test
strength only under ``PASSWORD_HASH_PROFILE=test`` (which the test suites set)."""

from __future__ import annotations

from argon2 import PasswordHasher

from services.auth.service import _password_hasher


def test_production_hashes_use_argon2id_defaults(monkeypatch):
    monkeypatch.delenv("PASSWORD_HASH_PROFILE", raising=False)
    hasher = _password_hasher()
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)
    assert hasher.hash("Demo@2026zone").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_the_test_profile_is_cheap_and_only_set_on_purpose(monkeypatch):
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "test")
    assert _password_hasher().hash("x").startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "fast")  # anything else: production strength
    assert _password_hasher().memory_cost == 65536


def test_hashes_of_either_strength_verify_under_either(monkeypatch):
    strong = PasswordHasher().hash("Demo@2026zone")
    monkeypatch.setenv("PASSWORD_HASH_PROFILE", "test")
    cheap_hasher = _password_hasher()
    assert cheap_hasher.verify(strong, "Demo@2026zone")
    cheap = cheap_hasher.hash("Demo@2026zone")
    assert PasswordHasher().verify(cheap, "Demo@2026zone")
