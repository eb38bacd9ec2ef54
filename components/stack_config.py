"""Reads this project's config keys from Pulumi config into the raw mapping `parse_settings` takes."""

from __future__ import annotations

from typing import Any

import pulumi

from components.settings import SECRET_KEYS

STRING_KEYS = (
    "platform", "namespace", "mergeDbHost", "mergeDbName", "mergeDbUser", "credentialName",
    "adminHost", "adminUser", "adminSslMode", "dbAdminVia", "dagsFolder", "jobImage", "factorySchedule",
    "renderManifestsTo", "kubeContext",
)
# Read as text and converted by parse_settings, so a bad value is reported with its key.
SCALAR_KEYS = ("mergeDbPort", "adminPort", "createDatabase")
LIST_KEYS = ("airflowWorkloads", "seedStreams")
ALL_KEYS = STRING_KEYS + SCALAR_KEYS + LIST_KEYS + SECRET_KEYS


def read_raw_config(config: pulumi.Config) -> dict[str, Any]:
    raw: dict[str, Any] = {key: config.get(key) for key in STRING_KEYS + SCALAR_KEYS}
    for key in LIST_KEYS:
        text = config.get(key)
        raw[key] = None if text is None else text  # JSON text; parse_settings decodes and checks it
    for key in SECRET_KEYS:
        # Read as text so an empty value can be rejected; components wrap it with Output.secret.
        raw[key] = config.get(key)
    return raw
