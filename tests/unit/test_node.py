"""The node's host side that needs no namespace (devtools/node.py): where it may live, how it is started,
what it records."""

from __future__ import annotations

from pathlib import Path

import pytest

from devtools import kube_api, node


def test_the_nodes_folder_may_not_be_where_it_mounts_over_or_too_deep():
    node.check_folder(Path("/srv/project/.local/node"))
    for folder in ("/var/lib/node", "/run/node", "/var"):
        with pytest.raises(node.NodeError, match="which the node mounts over"):
            node.check_folder(Path(folder))
    with pytest.raises(node.NodeError, match="exceeds a socket path's 107 bytes"):
        node.check_folder(Path("/tmp") / ("x" * 100))


def test_the_supervisor_is_pid_1_of_new_pid_mount_and_network_namespaces():
    sandbox = node.Image("localhost/yellow/pause:3.10.1", Path("/i/pause.tar"))
    command = node.unshare_command(Path("/n"), Path("/tc/bin"), "yellow-node-ab", sandbox, [Path("/i/busybox.tar")])
    separator = command.index("--")
    assert command[:separator] == [
        "unshare",
        "--pid",
        "--fork",
        "--kill-child=SIGKILL",
        "--mount",
        "--mount-proc",
        "--net",
    ]
    assert command[separator + 2 :] == [
        "-m",
        "devtools.node_inside",
        "--dir",
        "/n",
        "--bin",
        "/tc/bin",
        "--cgroup",
        "yellow-node-ab",
        "--sandbox",
        "localhost/yellow/pause:3.10.1",
        "--image",
        "/i/pause.tar",
        "--image",
        "/i/busybox.tar",
    ]


def test_the_state_is_written_and_read_back(tmp_path):
    state = node.State("yellow-node-ab", unshare=10, supervisor=11, reaper=12, forwarders=(13, 14), api_port=4443)
    state.save(tmp_path)
    assert node.State.load(tmp_path) == state
    assert node.State.load(tmp_path / "none") is None


def test_object_paths_of_core_and_group_objects():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"}}
    assert kube_api.object_path(service) == "/api/v1/namespaces/kube-system/services/kube-dns"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}
    assert kube_api.object_path(role) == "/apis/rbac.authorization.k8s.io/v1/clusterroles/r"
