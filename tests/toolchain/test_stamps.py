from __future__ import annotations

import pytest

from toolchain import stamps
from toolchain.stamps import Decision, Stamp

# As the shell version of the tool wrote it.
CLI_STAMP = (
    "key=r1 cli v3.272.0 v3.274.1 v3.274.0 v3.270.0\n"
    "status=ok\n"
    "version=v3.274.1\n"
    "seconds=9\n"
    "message=github.com/pulumi/pulumi/pkg/v3@v3.272.0 not served by the proxy; built v3.274.1\n"
)


def test_a_stamp_reads_and_writes_the_existing_format(tmp_path):
    (tmp_path / "cli").write_text(CLI_STAMP)
    stamp = stamps.read(tmp_path, "cli")
    assert stamp == Stamp(
        key="r1 cli v3.272.0 v3.274.1 v3.274.0 v3.270.0",
        status="ok",
        version="v3.274.1",
        seconds="9",
        message="github.com/pulumi/pulumi/pkg/v3@v3.272.0 not served by the proxy; built v3.274.1",
    )
    stamps.write(tmp_path, "copy", stamp)
    assert (tmp_path / "copy").read_text() == CLI_STAMP
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cli", "copy"]


def test_a_missing_stamp_or_field_is_empty(tmp_path):
    assert stamps.read(tmp_path, "etcd") == Stamp()
    assert stamps.parse("status=failed\nstatus=ok\nnoise\nmessage=a=b\n") == Stamp(status="failed", message="a=b")


def test_a_message_is_written_on_one_line():
    assert "message=first second\n" in stamps.render(Stamp(message="first\nsecond"))


KEY = "r1 etcd v3.6.4"


@pytest.mark.parametrize(
    ("stamp", "present", "retry", "rebuild", "expected"),
    [
        (Stamp(KEY, "ok"), True, False, False, Decision.BUILT),
        (Stamp(KEY, "ok"), True, True, False, Decision.BUILT),
        (Stamp(KEY, "ok"), True, False, True, Decision.BUILD),
        (Stamp(KEY, "ok"), False, False, False, Decision.BUILD),
        (Stamp("r1 etcd v3.6.3", "ok"), True, False, False, Decision.BUILD),
        (Stamp(), False, False, False, Decision.BUILD),
        (Stamp(KEY, "ok", message="fell back"), True, False, False, Decision.DEVIATES),
        (Stamp(KEY, "ok", message="fell back"), True, True, False, Decision.BUILD),
        (Stamp(KEY, "failed", message="go build failed"), False, False, False, Decision.FAILED),
        (Stamp(KEY, "failed", message="go build failed"), False, True, False, Decision.BUILD),
        (Stamp("r0 etcd", "failed"), False, False, False, Decision.BUILD),
    ],
)
def test_what_a_stamp_calls_for(stamp, present, retry, rebuild, expected):
    assert stamps.decide(stamp, KEY, present, retry, rebuild) is expected


def test_status_lines():
    assert stamps.status_lines("control-plane", Stamp(KEY, "ok", "v1.34.3", "263"), 207_400_000) == [
        "control-plane  ok         263s   207.4 MB  v1.34.3"
    ]
    assert stamps.status_lines("cli", Stamp(KEY, "failed", "", "3", "no CLI version could be fetched")) == [
        "cli            failed       3s             ",
        "                         no CLI version could be fetched",
    ]
    assert stamps.status_lines("etcd", Stamp()) == ["etcd" + " " * 25 + "s" + " " * 13]


def test_a_failure_for_a_missing_archive_is_remembered_with_the_archive():
    stamp = Stamp(KEY, "failed", "", "0", "source archive a.tar.gz not found", "a.tar.gz")
    assert stamps.render(stamp).endswith("message=source archive a.tar.gz not found\nmissing=a.tar.gz\n")
    assert stamps.parse(stamps.render(stamp)) == stamp
    assert "missing=" not in stamps.render(Stamp(KEY, "failed", message="go build failed"))


@pytest.mark.parametrize(
    ("missing_now", "retry", "expected"),
    [(True, False, Decision.FAILED), (False, False, Decision.BUILD), (True, True, Decision.BUILD)],
)
def test_a_piece_that_lacked_an_archive_is_built_once_it_is_there(missing_now, retry, expected):
    stamp = Stamp(KEY, "failed", message="source archive a.tar.gz not found", missing="a.tar.gz")
    assert stamps.decide(stamp, KEY, False, retry, False, missing_now) is expected
    # Other failures wait for --retry whatever the archives are.
    other = Stamp(KEY, "failed", message="go build failed")
    assert stamps.decide(other, KEY, False, False, False, missing_now=False) is Decision.FAILED
