"""The credentials annotation: changes with the Secret, reveals nothing of it."""

from __future__ import annotations

import hashlib
import json

from components.rollout import credentials_annotation, credentials_digest

DATA = {"username": "yellowlive_airflow", "password": "pw-1", "postgres_USER": "yellowlive_airflow"}


def digest(data=DATA, key="admin-pw", platform="yellowlive", name="yellowlive-postgres-credentials") -> str:
    return credentials_digest(name, data, key, platform)


def test_the_same_secret_gives_the_same_value_so_a_second_up_restarts_nothing():
    assert digest() == digest(dict(reversed(list(DATA.items()))))


def test_any_change_of_the_secrets_data_or_name_changes_the_value():
    values = {
        digest(),
        digest({**DATA, "password": "pw-2"}),
        digest({**DATA, "username": "other"}),
        digest(name="yellowlive-other-credentials"),
    }
    assert len(values) == 4


def test_the_value_is_keyed_and_per_platform():
    assert digest(key="another-admin-pw") != digest()
    assert digest(platform="yellowforensic") != digest()


def test_the_value_is_no_plain_hash_of_the_password_or_the_data():
    value = digest()
    message = json.dumps(
        {"name": "yellowlive-postgres-credentials", "data": DATA}, sort_keys=True, separators=(",", ":")
    )
    plain = {hashlib.sha256(text.encode()).hexdigest() for text in ("pw-1", message, json.dumps(DATA))}
    assert value not in plain and "pw-1" not in value
    assert len(value) == 64 and int(value, 16) >= 0


def test_each_platform_has_its_own_annotation_so_two_stacks_never_share_the_field():
    assert credentials_annotation("yellowlive") != credentials_annotation("yellowforensic")
    assert credentials_annotation("yellowlive").startswith("datasurface.io/")
