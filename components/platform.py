"""One Yellow platform: everything a single `pulumi up` of a stack declares."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.airflow_workloads import AirflowWorkloads
from components.credentials import credentials_secret_manifest, writer_secret_manifest
from components.factory_dag import configmap_manifest, factory_config, render_factory_dag
from components.merge_database import MergeDatabase
from components.settings import Settings


def kubernetes_provider_args(settings: Settings) -> dict[str, Any]:
    args: dict[str, Any] = {
        # Update the DAG ConfigMap and the credentials Secret in place: a replacement deletes the fixed-name
        # object first, and in between the DAG file is gone and pods fail on their secretKeyRef.
        "enable_config_map_mutable": True,
        "enable_secret_mutable": True,
        "enable_server_side_apply": True,
        # Empty: the provider loads KUBECONFIG (else ~/.kube/config) itself when it starts. Left unset, the
        # SDK would copy $KUBECONFIG's path into the provider's inputs, so the same cluster seen through a
        # kubeconfig at another path (CI's) would preview an update of the provider.
        "kubeconfig": "",
    }
    if settings.render_manifests_to:
        args["render_yaml_to_directory"] = settings.render_manifests_to
    if settings.kube_context:
        args["context"] = settings.kube_context
    return args


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


def _moved_out_of(
    component_type: str, name: str, platform: pulumi.Resource, opts: pulumi.ResourceOptions
) -> pulumi.ResourceOptions:
    """`opts`, aliased to where the resource sat before it became a direct child of the platform: under a
    component of its own with the same name. Stacks applied before see no replacement."""
    alias = pulumi.Alias(parent=pulumi.create_urn(name, component_type, parent=platform))
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[alias]))


class YellowPlatform(pulumi.ComponentResource):
    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("datasurface:yellow:Platform", name, platform_identity(settings), opts)
        names = settings.names
        # First, as it asks the admin endpoint (components/admin_endpoint.py) before anything else is declared.
        self.merge_database = MergeDatabase(f"{name}-merge-db", settings, pulumi.ResourceOptions(parent=self))
        self.kubernetes = k8s.Provider(
            f"{name}-kubernetes", **kubernetes_provider_args(settings), opts=pulumi.ResourceOptions(parent=self)
        )
        in_cluster = pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.kubernetes})

        secret = credentials_secret_manifest(
            settings, settings.merge_db_user, pulumi.Output.secret(settings.merge_db_password)
        )
        secret_name = f"{name}-credentials"
        self.credentials = k8s.core.v1.Secret(
            secret_name,
            metadata=secret["metadata"],
            type=secret["type"],
            string_data=secret["stringData"],
            opts=_moved_out_of("datasurface:yellow:CredentialsSecret", secret_name, self, in_cluster),
        )
        configmap = configmap_manifest(settings, render_factory_dag(factory_config(settings)))
        configmap_name = f"{name}-factory-dag"
        # A new DAG file reaches the pods only once the tables and grants it relies on exist.
        self.factory_dag = k8s.core.v1.ConfigMap(
            configmap_name,
            metadata=configmap["metadata"],
            data=configmap["data"],
            opts=pulumi.ResourceOptions.merge(
                _moved_out_of("datasurface:yellow:FactoryDag", configmap_name, self, in_cluster),
                pulumi.ResourceOptions(depends_on=[self.merge_database]),
            ),
        )
        if settings.writer_db_user:
            writer = writer_secret_manifest(settings, pulumi.Output.secret(settings.writer_db_password))
            self.writer_credentials = k8s.core.v1.Secret(
                f"{name}-writer-credentials",
                metadata=writer["metadata"],
                type=writer["type"],
                string_data=writer["stringData"],
                opts=pulumi.ResourceOptions.merge(in_cluster, pulumi.ResourceOptions(depends_on=[self.merge_database])),
            )
        # Airflow is pointed at the factory only once its table, role and grants exist.
        self.workloads = AirflowWorkloads(
            f"{name}-airflow",
            settings,
            pulumi.ResourceOptions.merge(
                in_cluster, pulumi.ResourceOptions(depends_on=[self.credentials, self.factory_dag, self.merge_database])
            ),
        )
        # The identity again, as outputs: a stack policy sees a component's outputs, not its inputs.
        self.register_outputs(
            {
                **platform_identity(settings),
                "secretName": names.credentials_secret_name,
                "configMapName": names.configmap_name,
                "patchedWorkloads": self.workloads.workload_names,
                "dsgTable": self.merge_database.table_name,
            }
        )
