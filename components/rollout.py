"""The pod-template annotation that rolls the patched workloads out when the credentials Secret changes.

An env var from a `secretKeyRef` is read when a container starts, so a rotated password reaches running
pods only through a rollout; a change of a pod template's annotations makes one (as the Airflow chart does
with its `checksum/...` annotations). The annotation's value must change with the Secret's data and say
nothing about it: it is a keyed digest (HMAC-SHA256) of the Secret's name and data, keyed by a key stretched
(PBKDF2) from another secret of the stack, the admin password, which no pod and no Kubernetes object holds.
Anyone who can read the Deployment sees only that the Secret changed, and cannot test password guesses
against the value without the admin password as well. It is computed from config values, so a preview shows
the change, and the rollout, before the `up`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from collections.abc import Mapping

KDF_ITERATIONS = 100_000


def credentials_annotation(platform: str) -> str:
    """The annotation's key: one per platform, so two stacks patching the same workload never share it."""
    return f"datasurface.io/{platform}-credentials-digest"


@functools.cache
def _digest_key(key_secret: str, platform: str) -> bytes:
    salt = f"datasurface-yellow/{platform}/credentials-rollout".encode()
    return hashlib.pbkdf2_hmac("sha256", key_secret.encode(), salt, KDF_ITERATIONS)


def credentials_digest(secret_name: str, secret_data: Mapping[str, str], key_secret: str, platform: str) -> str:
    """HMAC-SHA256 of the Secret's name and data, keyed by a key stretched from `key_secret`."""
    message = json.dumps({"name": secret_name, "data": dict(secret_data)}, sort_keys=True, separators=(",", ":"))
    return hmac.new(_digest_key(key_secret, platform), message.encode(), hashlib.sha256).hexdigest()
