from __future__ import annotations

import re
from pathlib import Path

from toolchain import output

HOME = Path("/cache/tc")
BIN = HOME / "bin"


def test_what_each_mode_prints():
    assert output.emit("print-bin", BIN, HOME) == "/cache/tc/bin\n"
    assert output.emit("default", BIN, HOME) == "PULUMI_BIN=/cache/tc/bin\n"
    assert output.emit("print-env", BIN, HOME).splitlines() == [
        'export PATH="/cache/tc/bin:$PATH"',
        "export PULUMI_SKIP_UPDATE_CHECK=true",
        "export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
        "export PULUMI_IGNORE_AMBIENT_PLUGINS=true",
        'export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file:///cache/tc/state}"',
        'export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"',
    ]


def test_progress_lines():
    assert re.fullmatch(r"\[pulumi-toolchain \d\d:\d\d:\d\d\] cli: building", output.log_line("cli: building"))
    assert output.warn_line("x") == "[pulumi-toolchain] WARNING: x"
    assert output.fmt_secs(459) == "7m39s"
    assert output.fmt_secs(4) == "0m04s"


def test_the_summary_of_a_toolchain_that_is_not_exactly_the_pinned_one():
    assert output.summary([], [], "tc") == ""
    assert output.summary(["cli"], [], "tc") == (
        "toolchain ready; differs from the pinned versions: cli (details: tc --status)"
    )
    assert output.summary(["cli", "kubernetes"], ["etcd"], "tc") == (
        "toolchain ready; differs from the pinned versions: cli kubernetes; not built: etcd "
        "(details: tc --status; retry: --retry)"
    )
