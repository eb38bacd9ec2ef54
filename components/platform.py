"""One Yellow platform: everything a single `pulumi up` of a stack declares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.airflow_workloads import AirflowWorkloads, AirflowWorkloadsArgs
from components.credentials import CredentialsSecret, CredentialsSecretArgs
from components.factory_dag import FactoryDag, FactoryDagArgs
from components.merge_database import MergeDatabase, MergeDatabaseArgs
from components.settings import Settings


def kubernetes_provider_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {
        # Update the DAG ConfigMap and the credentials Secret in place: a replacement deletes the fixed-name
        # object first, and in between the DAG file is gone and pods fail on their secretKeyRef.
        "enable_config_map_mutable": True,
        "enable_secret_mutable": True,
        "enable_server_side_apply": True,
    }
    if settings.render_manifests_to:
        args["render_yaml_to_directory"] = settings.render_manifests_to
    if settings.kube_context:
        args["context"] = settings.kube_context
    return args


@dataclass
class YellowPlatformArgs:
    settings: Settings
    merge_database_exists: bool


def platform_identity(settings: Settings) -> dict[str, str]:
    """What this platform is, recorded on its component so reviewers and policies can check the parts."""
    names = settings.names
    return {
        "platform": settings.platform,
        "mergeDbHost": settings.merge_db_host,
        "dsgTable": names.dsg_table,
        "dagIdPrefix": names.dag_prefix,
        "factoryDagId": names.factory_dag_id,
        "configMap": names.configmap_name,
        "credentialsSecret": names.credentials_secret_name,
    }


class YellowPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, args: YellowPlatformArgs, opts: pulumi.ResourceOptions | None = None):
        settings = args.settings
        super().__init__("datasurface:yellow:Platform", name, platform_identity(settings), opts)
        self.kubernetes = k8s.Provider(
            f"{name}-kubernetes", **kubernetes_provider_args(settings), opts=pulumi.ResourceOptions(parent=self)
        )
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.kubernetes})

        self.credentials = CredentialsSecret(f"{name}-credentials", CredentialsSecretArgs(settings), in_cluster)
        self.factory_dag = FactoryDag(f"{name}-factory-dag", FactoryDagArgs(settings), in_cluster)
        self.merge_database = MergeDatabase(
            f"{name}-merge-db",
            MergeDatabaseArgs(settings, args.merge_database_exists),
            pulumi.ResourceOptions(parent=self),
        )
        # Airflow is pointed at the factory only once its table, role and grants exist.
        self.workloads = AirflowWorkloads(
            f"{name}-airflow",
            AirflowWorkloadsArgs(settings),
            pulumi.ResourceOptions.merge(
                in_cluster, pulumi.ResourceOptions(depends_on=[self.credentials, self.factory_dag, self.merge_database])
            ),
        )
        self.register_outputs(
            {
                "secretName": self.credentials.secret_name,
                "configMapName": self.factory_dag.config_map_name,
                "patchedWorkloads": self.workloads.workload_names,
                "dsgTable": self.merge_database.table_name,
            }
        )
