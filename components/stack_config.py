"""Reads this project's config keys from Pulumi config into the raw mapping `parse_settings` takes."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.runtime.config import is_config_secret

from components.project_file import KEYS, OPTIONAL_SECRET_KEYS, PROJECT, PlainText


def read_raw_config(config: pulumi.Config) -> dict[str, Any]:
    """Every declared key as the text Pulumi holds (lists as JSON text); parse_settings decodes and checks it.

    Secrets too are read as text, so an empty one can be rejected; components wrap them with
    Output.secret before they reach any resource. An optional secret set in plain text comes as PlainText.
    """
    raw: dict[str, Any] = {key: config.get(key) for key in KEYS}
    for key in OPTIONAL_SECRET_KEYS:
        if raw[key] and not is_config_secret(f"{PROJECT}:{key}"):
            raw[key] = PlainText(raw[key])
    return raw
