"""Reads this project's config keys from Pulumi config into the raw mapping `parse_settings` takes."""

from __future__ import annotations

from typing import Any

import pulumi

from components.settings import SECRET_KEYS

STRING_KEYS = (
    "platform",
    "namespace",
    "mergeDbHost",
    "mergeDbName",
    "mergeDbUser",
    "credentialName",
    "adminHost",
    "adminUser",
    "adminSslMode",
    "dagsFolder",
    "jobImage",
    "factorySchedule",
    "renderManifestsTo",
    "kubeContext",
)
# Converted by parse_settings, so a bad value is reported with its key.
SCALAR_KEYS = ("mergeDbPort", "adminPort", "createDatabase")
LIST_KEYS = ("airflowWorkloads", "seedStreams")
ALL_KEYS = STRING_KEYS + SCALAR_KEYS + LIST_KEYS + SECRET_KEYS


def read_raw_config(config: pulumi.Config) -> dict[str, Any]:
    """Every key as the text Pulumi holds (lists as JSON text); parse_settings decodes and checks it.

    Secrets too are read as text, so an empty one can be rejected; components wrap them with
    Output.secret before they reach any resource.
    """
    return {key: config.get(key) for key in ALL_KEYS}
