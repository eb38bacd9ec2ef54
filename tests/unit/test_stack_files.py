import pytest

from devtools.stack_files import cluster_stacks, port_forward, stack_config


def test_the_workflow_previews_every_committed_stack_but_local():
    assert cluster_stacks() == ["yellowforensic", "yellowlive"]


def test_both_cluster_stacks_forward_from_the_merge_database_service_to_their_admin_port():
    for stack in cluster_stacks():
        assert port_forward(stack_config(stack)) == {
            "namespace": "ns-kub-pg-test",
            "service": "pg-data",
            "admin-port": "15432",
        }


def test_a_stack_file_without_the_admin_port_is_refused_naming_the_key(tmp_path):
    (tmp_path / "Pulumi.s.yaml").write_text("config:\n  datasurface-yellow:mergeDbHost: db.ns.svc.cluster.local\n")
    with pytest.raises(ValueError, match="the stack file sets no adminPort"):
        port_forward(stack_config("s", tmp_path))


def test_a_host_that_is_not_a_cluster_service_is_refused_naming_it():
    with pytest.raises(ValueError, match="mergeDbHost 'localhost' is not a cluster service name"):
        port_forward({"mergeDbHost": "localhost", "adminPort": 5432})
