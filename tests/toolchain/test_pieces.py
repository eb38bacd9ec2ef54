from __future__ import annotations

import stat

from toolchain import pieces


def test_the_first_served_version_wins():
    served = {"v3.274.1": "/m/pkg@v3.274.1", "v3.270.0": "/m/pkg@v3.270.0"}
    calls = []

    def download(version):
        calls.append(version)
        return (served[version], "") if version in served else ("", f"{version} not served")

    assert pieces.first_served(["v3.272.0", "v3.274.1", "v3.270.0"], download) == (
        1,
        "/m/pkg@v3.274.1",
        [("v3.272.0", "v3.272.0 not served")],
    )
    assert calls == ["v3.272.0", "v3.274.1"]
    assert pieces.first_served(["v1", "v2"], download) == (-1, "", [("v1", "v1 not served"), ("v2", "v2 not served")])


def test_a_module_copied_out_of_the_read_only_cache_is_writable(tmp_path):
    source = tmp_path / "mod@v1"
    (source / "cmd").mkdir(parents=True)
    (source / "cmd" / "main.go").write_text("package main\n")
    for path in (source / "cmd" / "main.go", source / "cmd", source):
        path.chmod(0o555 if path.is_dir() else 0o444)
    dest = tmp_path / "src"
    dest.mkdir()
    (dest / "stale.go").write_text("")
    pieces.copy_writable(source, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == ["cmd", "cmd/main.go"]
    for path in (dest, dest / "cmd", dest / "cmd" / "main.go"):
        assert path.stat().st_mode & stat.S_IWUSR
    for path in (source, source / "cmd"):
        path.chmod(0o755)
