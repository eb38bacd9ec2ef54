"""DataSurface Yellow DAG factory: one platform per stack (see README.md)."""

import pulumi

from components.admin_endpoint import AdminEndpointError
from components.platform import YellowPlatform
from components.settings import SettingsError, parse_settings
from components.stack_config import read_raw_config

# A refusal is a RunError: the engine prints its message once, as `error: ...`, with no traceback.
try:
    settings = parse_settings(read_raw_config(pulumi.Config()))
    platform = YellowPlatform(settings.platform, settings)
except (SettingsError, AdminEndpointError) as err:
    raise pulumi.RunError(str(err)) from err

names = settings.names
pulumi.export("platform", settings.platform)
pulumi.export("namespace", settings.namespace)
pulumi.export("mergeDbHost", settings.merge_db_host)
pulumi.export("factoryDagId", names.factory_dag_id)
pulumi.export("dagIdPrefix", names.dag_prefix)
pulumi.export("dsgTable", names.dsg_table)
pulumi.export("configMap", names.configmap_name)
pulumi.export("credentialsSecret", names.credentials_secret_name)
pulumi.export("patchedWorkloads", platform.workloads.workload_names)
pulumi.export("seedStreams", [s.stream_key for s in settings.streams])
pulumi.export("dagFolder", settings.dag_mount_path)
