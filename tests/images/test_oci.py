"""The OCI writer on layers the tests make: same inputs, same bytes; an archive containerd can read."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tarfile
from pathlib import Path

from images import oci
from images.oci import BlobStore, Entry, ImageConfig

EPOCH = 1735689600


def tree(root: Path) -> Path:
    (root / "b" / "c").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "b" / "c" / "run.sh").write_text("#!/bin/sh\n")
    (root / "b" / "c" / "run.sh").chmod(0o755)
    (root / "b" / "link").symlink_to("c/run.sh")
    os.link(root / "a.txt", root / "b" / "hard.txt")
    (root / "b-sibling").write_text("x")
    return root


def members(store: BlobStore, layer: oci.Layer) -> list[tarfile.TarInfo]:
    with tarfile.open(store.path(layer.blob.digest), "r:gz") as tar:
        return tar.getmembers()


def archive_files(archive: Path) -> dict[str, bytes]:
    files = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            f = tar.extractfile(member)
            if f is not None:
                files[member.name] = f.read()
    return files


def test_a_tree_gives_the_same_layer_bytes_whatever_its_mtimes(tmp_path: Path) -> None:
    root = tree(tmp_path / "root")
    store = BlobStore(tmp_path / "store")
    first = store.put_layer(lambda tar: oci.add_tree(tar, root, EPOCH))
    for path in root.rglob("*"):
        os.utime(path, (1, 1), follow_symlinks=False)
    second = store.put_layer(lambda tar: oci.add_tree(tar, root, EPOCH))
    assert first == second


def test_a_layer_lists_folders_before_their_members_with_fixed_metadata(tmp_path: Path) -> None:
    root = tree(tmp_path / "root")
    store = BlobStore(tmp_path / "store")
    layer = store.put_layer(lambda tar: oci.add_tree(tar, root, EPOCH))
    listed = members(store, layer)
    assert [m.name for m in listed] == ["a.txt", "b", "b/c", "b/c/run.sh", "b/hard.txt", "b/link", "b-sibling"]
    assert {m.mtime for m in listed} == {EPOCH}
    assert {(m.uname, m.gname) for m in listed} == {("", "")}
    by_name = {m.name: m for m in listed}
    assert by_name["b/c/run.sh"].mode & 0o777 == 0o755
    assert by_name["b/link"].issym() and by_name["b/link"].linkname == "c/run.sh"
    assert by_name["b/hard.txt"].islnk() and by_name["b/hard.txt"].linkname == "a.txt"


def test_a_subtree_layer_holds_the_folders_leading_to_it(tmp_path: Path) -> None:
    root = tree(tmp_path / "root")
    store = BlobStore(tmp_path / "store")
    layer = store.put_layer(lambda tar: oci.add_tree(tar, root, EPOCH, under=["b/c"]))
    assert [m.name for m in members(store, layer)] == ["b", "b/c", "b/c/run.sh"]


def test_folders_whose_contents_are_skipped_are_kept_empty(tmp_path: Path) -> None:
    root = tree(tmp_path / "root")
    store = BlobStore(tmp_path / "store")
    layer = store.put_layer(lambda tar: oci.add_tree(tar, root, EPOCH, skip_contents_of=frozenset({"b/c"})))
    names = [m.name for m in members(store, layer)]
    assert "b/c" in names and "b/c/run.sh" not in names


def test_a_layer_digest_is_the_gzip_and_its_diff_id_the_tar(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    layer = store.put_layer(lambda tar: oci.add_entries(tar, [Entry("etc/x", b"1")], EPOCH))
    data = store.path(layer.blob.digest).read_bytes()
    assert layer.blob == oci.Blob("sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    tar_bytes = gzip.decompress(data)
    assert layer.diff_id == "sha256:" + hashlib.sha256(tar_bytes).hexdigest()
    assert layer.unpacked == len(tar_bytes)
    assert data[4:8] == b"\0\0\0\0"  # gzip header: no mtime


def test_data_entries_keep_their_owner_mode_and_link(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    entries = [
        Entry.folder("home/airflow", 0o775, uid=50000, gid=0),
        Entry("entrypoint", b"#!/bin/sh\n", mode=0o755),
        Entry.symlink("bin/sh", "busybox"),
        Entry.folder("home"),
    ]
    listed = {m.name: m for m in members(store, store.put_layer(lambda tar: oci.add_entries(tar, entries, EPOCH)))}
    assert list(listed) == ["bin/sh", "entrypoint", "home", "home/airflow"]
    assert (listed["home/airflow"].uid, listed["home/airflow"].mode) == (50000, 0o775)
    assert listed["bin/sh"].linkname == "busybox"


def test_an_archive_is_an_oci_layout_naming_the_image_for_containerd(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "store")
    layer = store.put_layer(lambda tar: oci.add_entries(tar, [Entry("pause", b"\x7fELF", mode=0o755)], EPOCH))
    config = ImageConfig(entrypoint=["/pause"], user="65535:65535", env=["PATH=/bin"], working_dir="/")
    image = oci.assemble(store, "localhost/yellow/pause:3.10.1", config, [layer], "2025-01-01T00:00:00Z", ["pause"])
    archive = tmp_path / "pause.tar"
    oci.write_archive(store, image, archive)

    files = archive_files(archive)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "localhost/yellow/pause:3.10.1"
    assert entry["annotations"]["io.containerd.image.name"] == "localhost/yellow/pause:3.10.1"
    assert entry["platform"] == {"architecture": "amd64", "os": "linux"}

    def blob(digest: str) -> bytes:
        data = files["blobs/sha256/" + digest.removeprefix("sha256:")]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        return data

    manifest = json.loads(blob(entry["digest"]))
    assert manifest["mediaType"] == oci.MANIFEST_TYPE
    config_json = json.loads(blob(manifest["config"]["digest"]))
    assert config_json["config"]["Entrypoint"] == ["/pause"]
    assert config_json["config"]["User"] == "65535:65535"
    assert config_json["rootfs"]["diff_ids"] == [layer.diff_id]
    [layer_descriptor] = manifest["layers"]
    assert layer_descriptor["mediaType"] == oci.LAYER_TYPE
    assert len(blob(layer_descriptor["digest"])) == layer_descriptor["size"]


def test_the_same_image_gives_the_same_archive_bytes(tmp_path: Path) -> None:
    def archive(folder: Path) -> bytes:
        store = BlobStore(folder)
        layer = store.put_layer(lambda tar: oci.add_entries(tar, [Entry("x", b"1")], EPOCH))
        image = oci.assemble(store, "localhost/x:1", ImageConfig(cmd=["sh"]), [layer], "2025-01-01T00:00:00Z", ["x"])
        oci.write_archive(store, image, folder / "x.tar")
        return (folder / "x.tar").read_bytes()

    assert archive(tmp_path / "one") == archive(tmp_path / "two")
