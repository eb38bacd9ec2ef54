from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from toolchain import gomod

GOMOD = {
    "Module": {"Path": "github.com/pulumi/pulumi-kubernetes/provider/v4"},
    "Require": [
        {"Path": "github.com/pulumi/pulumi-kubernetes/sdk/v4", "Version": "v4.0.0"},
        {"Path": "k8s.io/api", "Version": "v0.33.3"},
    ],
    "Replace": [
        {"Old": {"Path": "github.com/pulumi/pulumi-kubernetes/sdk/v4"}, "New": {"Path": "../sdk"}},
        {
            "Old": {"Path": "github.com/imdario/mergo", "Version": "v1.0.0"},
            "New": {"Path": "github.com/imdario/mergo", "Version": "v0.3.16"},
        },
        {"Old": {"Path": "k8s.io/klog"}, "New": {"Path": "k8s.io/klog/v2", "Version": "v2.1.0"}},
    ],
}


def test_replaces_by_versions_and_by_folders():
    assert gomod.nonlocal_replaces(GOMOD) == [
        "github.com/imdario/mergo@v1.0.0=github.com/imdario/mergo@v0.3.16",
        "k8s.io/klog=k8s.io/klog/v2@v2.1.0",
    ]
    assert gomod.local_replaces(GOMOD) == [("github.com/pulumi/pulumi-kubernetes/sdk/v4", "../sdk")]
    assert gomod.local_replaces({"Replace": None}) == []


def test_required_versions():
    assert gomod.required_version(GOMOD, "k8s.io/api") == "v0.33.3"
    assert gomod.required_version(GOMOD, "k8s.io/client-go") == ""
    assert gomod.required_version({}, "k8s.io/api") == ""


def test_a_downloaded_module_gives_its_folder():
    out = json.dumps({"Path": "go.etcd.io/etcd/server/v3", "Version": "v3.6.4", "Dir": "/m/server/v3@v3.6.4"})
    assert gomod.download_result(out, "") == ("/m/server/v3@v3.6.4", "")


def test_a_version_the_proxy_does_not_serve_says_so():
    error = (
        "github.com/pulumi/pulumi/pkg/v3@v3.272.0: reading https://proxy.golang.org/...: 403 Forbidden\n"
        "\tserver response: This module version is not available."
    )
    out = json.dumps({"Path": "github.com/pulumi/pulumi/pkg/v3", "Version": "v3.272.0", "Error": error})
    assert gomod.download_result(out, "") == (
        "",
        "not served by the Go module proxy (403 Forbidden: This module version is not available.)",
    )


def test_other_errors_are_kept_on_one_line_and_short():
    assert gomod.download_result("", "go: malformed\n  module path\n") == ("", "go: malformed module path")
    assert gomod.download_result(json.dumps({"Error": "x " * 300}), "") == ("", ("x " * 200)[:400])


def test_a_build_has_its_tags_when_it_needs_some():
    assert gomod.build_args("2", "./cmd/x", Path("/o/x"), "-s -w") == [
        "go",
        "build",
        "-p",
        "2",
        "-trimpath",
        "-ldflags",
        "-s -w",
        "-o",
        "/o/x",
        "./cmd/x",
    ]
    assert gomod.build_args("2", "./cmd/x", Path("/o/x"), "-s", "seccomp")[-3:] == ["-tags", "seccomp", "./cmd/x"]


def test_every_go_command_runs_niced(tmp_path):
    log = (tmp_path / "log").open("w+")
    go = gomod.Go(dict(os.environ), "2", tmp_path, log)
    script = "import os, sys; print(os.nice(0) - int(sys.argv[1]))"
    go.run([sys.executable, "-c", script, str(os.nice(0))], cwd=tmp_path)
    log.seek(0)
    assert log.read() == "10\n"
