"""The Debian packages a build needs: which are missing, and the apt-get commands that install them."""

from __future__ import annotations

from toolchain import debian


def test_a_package_is_missing_when_its_telltale_file_is(tmp_path):
    (tmp_path / "seccomp.h").write_text("")
    packages = {"libseccomp-dev": str(tmp_path / "seccomp.h"), "libfoo-dev": str(tmp_path / "foo.h")}
    assert debian.missing(packages) == ["libfoo-dev"]


def test_the_lists_are_updated_before_the_install_which_waits_for_another_apt():
    update, install = debian.install_commands(["libseccomp-dev"])
    assert update[:2] == ["apt-get", "update"]
    assert install[:4] == ["apt-get", "install", "-y", "--no-install-recommends"]
    assert install[-1] == "libseccomp-dev"
    assert "DPkg::Lock::Timeout=300" in install


def test_nothing_is_installed_when_nothing_is_missing(tmp_path):
    (tmp_path / "seccomp.h").write_text("")
    logged: list[str] = []
    debian.ensure_packages(logged.append, {"libseccomp-dev": str(tmp_path / "seccomp.h")})
    assert logged == []
