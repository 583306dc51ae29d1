"""The parts of the Linux, Windows and macOS packages that can be checked on any system: one
version everywhere, what the bundles say about themselves, archive names and contents, the size
report's rows for each layout, the icons, and the self-test the frozen app runs on frames it
draws.  (The builds themselves run in .ci/run and in the release workflow.)
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import plistlib
import stat
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest
from PySide6.QtGui import QImageReader

import app
from app.gui.main import run_self_test

ROOT = Path(__file__).resolve().parent.parent


def load(path: str):
    """A script of packaging/ or assets/ as a module (neither folder is a package)."""
    spec = importlib.util.spec_from_file_location(f"_{Path(path).stem}", ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_info = load("packaging/bundle_info.py")
build = load("packaging/build.py")
check_package = load("packaging/check_package.py")
size_report = load("packaging/size_report.py")


# --- one version -----------------------------------------------------------------------------
def test_the_package_version_is_the_one_every_package_carries():
    """app/__init__.py says it; pyproject reads it from there; the frozen bundle's resources
    and the installed distribution carry it."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "app.__version__"}
    assert (bundle_info.package_version() == app.__version__
            == importlib.metadata.version("hourglass-pose"))


@pytest.mark.parametrize(("version", "numbers"), [
    ("0.1.0", (0, 1, 0, 0)), ("1.2rc1", (1, 2, 0, 0)), ("2.10.3.4", (2, 10, 3, 4)),
    ("3", (3, 0, 0, 0)),
])
def test_numeric_version(version, numbers):
    assert bundle_info.numeric_version(version) == numbers


def test_a_version_without_numbers_is_refused():
    with pytest.raises(ValueError, match="does not start with a number"):
        bundle_info.numeric_version("dev")


# --- macOS -----------------------------------------------------------------------------------
def test_the_info_plist_carries_identity_version_and_camera_text():
    plist = bundle_info.info_plist("1.2.3rc1", bundle_info.macos_minimum("15.6.1"))
    assert plistlib.loads(plistlib.dumps(plist)) == plist  # writable as an Info.plist
    assert plist["CFBundleIdentifier"] == "org.hourglasspose.HourglassPose"
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == "1.2.3"
    assert plist["LSMinimumSystemVersion"] == "15.0"
    assert "camera" in plist["NSCameraUsageDescription"]


# --- Windows ---------------------------------------------------------------------------------
def test_the_windows_version_resource_is_what_pyinstaller_embeds(tmp_path, monkeypatch):
    pytest.importorskip("pefile")  # PyInstaller's reader imports it (the dev extra has it)
    import PyInstaller.compat

    # Only writing the resource into an executable needs the Windows API; off Windows,
    # PyInstaller leaves the name undefined, and its reader imports it all the same.
    monkeypatch.setattr(PyInstaller.compat, "win32api", getattr(PyInstaller.compat, "win32api",
                                                                None), raising=False)
    from PyInstaller.utils.win32 import versioninfo

    path = tmp_path / "version_info.txt"
    path.write_text(bundle_info.windows_version_info("1.2.3"), encoding="utf-8")
    info = versioninfo.load_version_info_from_text_file(str(path))
    assert (info.ffi.fileVersionMS, info.ffi.fileVersionLS) == ((1 << 16) | 2, 3 << 16)
    raw = info.toRaw()  # the bytes written into the executable
    for text in ("1.2.3", "Hourglass Pose", "hourglass-pose.exe"):
        assert text.encode("utf-16-le") in raw


# --- build.spec ----------------------------------------------------------------------------
def spec_list(name: str) -> list[ast.expr]:
    tree = ast.parse((ROOT / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if [getattr(target, "id", None) for target in targets] == [name]:
            return node.value.elts
    raise AssertionError(f"build.spec has no {name} = [...]")


def test_every_file_build_spec_leaves_out_names_its_platform():
    entries = spec_list("LEFT_OUT")
    assert len(entries) > 20
    for entry in entries:
        platform, pattern = entry.elts
        assert platform.id in {"ANY", "LINUX", "WINDOWS", "MACOS"}, ast.unparse(entry)
        assert isinstance(pattern.value, str)
        # Qt's files lie in PySide6/ on Windows, in PySide6/Qt/ elsewhere
        if pattern.value.startswith("PySide6/"):
            assert (platform.id == "WINDOWS") != pattern.value.startswith("PySide6/Qt/")


# --- archives --------------------------------------------------------------------------------
@pytest.mark.parametrize(("system", "machine", "name"), [
    ("linux", "x86_64", "hourglass-pose-0.1.0-linux-x86_64.tar.gz"),
    ("win32", "AMD64", "hourglass-pose-0.1.0-windows-x86_64.zip"),
    ("darwin", "arm64", "hourglass-pose-0.1.0-macos-arm64.zip"),
])
def test_archive_names_say_version_system_and_processor(tmp_path, system, machine, name):
    assert build.archive_path("0.1.0", system, machine, tmp_path) == tmp_path / name


def test_no_package_for_other_systems():
    with pytest.raises(ValueError, match="no package is made for"):
        build.archive_path("0.1.0", "freebsd14", "amd64")


def test_where_the_app_lies_in_each_layout(tmp_path):
    assert build.frozen_executable(tmp_path, "linux") == tmp_path / "hourglass-pose" / \
        "hourglass-pose"
    assert build.frozen_executable(tmp_path, "win32") == tmp_path / "hourglass-pose" / \
        "hourglass-pose.exe"
    assert build.frozen_executable(tmp_path, "darwin") == tmp_path / "Hourglass Pose.app" / \
        "Contents" / "MacOS" / "hourglass-pose"
    assert build.shipped_path("darwin", tmp_path) == tmp_path / "Hourglass Pose.app"


def fake_build(dist: Path) -> Path:
    shipped = dist / "hourglass-pose"
    (shipped / "_internal" / "torch").mkdir(parents=True)
    executable = shipped / "hourglass-pose"
    executable.write_bytes(b"\x7fELF not really")
    executable.chmod(0o755)
    (shipped / "_internal" / "torch" / "libtorch.so").write_bytes(b"x" * 1000)
    if sys.platform != "win32":
        (shipped / "_internal" / "libtorch.so").symlink_to("torch/libtorch.so")
    return shipped


@pytest.mark.parametrize("system", ["linux", "win32"])
def test_an_archive_unpacks_to_the_folder_it_packed(tmp_path, system, monkeypatch):
    shipped = fake_build(tmp_path / "dist")
    archive = build.archive_path("0.1.0", system, "x86_64", tmp_path / "dist")
    build.write_archive(shipped, archive, system)
    assert sorted(p.name for p in archive.parent.iterdir()) == ["hourglass-pose", archive.name]
    monkeypatch.setattr(check_package, "system_name", lambda: "linux")
    check_package.unpack(archive, tmp_path / "unpacked")
    unpacked = tmp_path / "unpacked" / "hourglass-pose"
    assert (unpacked / "_internal" / "torch" / "libtorch.so").read_bytes() == b"x" * 1000
    if archive.name.endswith(".tar.gz") and sys.platform != "win32":  # a Windows zip: neither
        assert (unpacked / "hourglass-pose").stat().st_mode & stat.S_IXUSR
        assert os.readlink(unpacked / "_internal" / "libtorch.so") == "torch/libtorch.so"


def test_a_failed_archive_leaves_the_earlier_one_as_it_was(tmp_path):
    archive = tmp_path / "hourglass-pose-0.1.0-linux-x86_64.tar.gz"
    archive.write_bytes(b"the archive of the last good build")
    with pytest.raises(FileNotFoundError):
        build.write_archive(tmp_path / "missing", archive, "linux")
    assert archive.read_bytes() == b"the archive of the last good build"
    assert [p.name for p in tmp_path.iterdir()] == [archive.name]


def test_the_tar_archive_keeps_the_folder_as_its_one_entry(tmp_path):
    shipped = fake_build(tmp_path / "dist")
    archive = tmp_path / "out.tar.gz"
    build.write_archive(shipped, archive, "linux")
    with tarfile.open(archive) as tar:
        assert {name.split("/")[0] for name in tar.getnames()} == {"hourglass-pose"}


# --- the size report on each layout ----------------------------------------------------------
@pytest.mark.parametrize(("parts", "row"), [
    (("hourglass-pose",), "hourglass-pose (the executable)"),
    (("hourglass-pose.exe",), "hourglass-pose.exe (the executable)"),
    (("Contents", "MacOS", "hourglass-pose"), "hourglass-pose (the executable)"),
    (("_internal", "torch", "lib", "libtorch_cpu.so"), "torch/"),
    (("Contents", "Frameworks", "torch", "lib", "libtorch_cpu.dylib"), "torch/"),
    (("Contents", "Resources", "models", "hourglass-lsp.safetensors"), "models/"),
    (("_internal", "libpython3.11.so.1.0"), size_report.LOOSE),
    (("_internal", "python311.dll"), size_report.LOOSE),
    (("_internal", "_ctypes.pyd"), size_report.LOOSE),
    (("Contents", "Frameworks", "libssl.3.dylib"), size_report.LOOSE),
    (("_internal", "base_library.zip"), "base_library.zip"),
    (("Contents", "Info.plist"), "Contents/Info.plist"),
])
def test_size_report_rows(parts, row):
    assert size_report.row(parts) == row


def test_size_report_counts_a_bundle_file_once_though_linked_twice(tmp_path):
    if sys.platform == "win32":
        pytest.skip("symbolic links need privileges on Windows")
    bundle = tmp_path / "Hourglass Pose.app" / "Contents"
    (bundle / "Resources" / "models").mkdir(parents=True)
    (bundle / "Frameworks").mkdir()
    (bundle / "Resources" / "models" / "model.safetensors").write_bytes(b"w" * 4096)
    (bundle / "Frameworks" / "models").symlink_to("../Resources/models")
    assert size_report.group(bundle.parent) == {"models/": 4096}


# --- icons -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "sizes"), [
    ("icon.ico", lambda icon: list(icon.ICO_SIZES)),
    ("icon.icns", lambda icon: [size for _, size in icon.ICNS_TYPES]),
])
def test_the_committed_icons_hold_every_size_make_icon_draws(qapp, name, sizes):
    reader = QImageReader(str(ROOT / "assets" / name))
    found = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        assert image.width() == image.height()
        found.append(image.width())
    assert found == sizes(load("assets/make_icon.py"))


# --- the frozen app's self-test, unfrozen ----------------------------------------------------
def test_the_self_test_without_media_or_camera_runs_on_frames_it_draws(
        qapp, tiny_checkpoint, monkeypatch, capsys):
    monkeypatch.setattr("app.engine.open_media.list_cameras", lambda: [])
    assert run_self_test(None, str(tiny_checkpoint), "cpu", frames=3) == 0
    out = capsys.readouterr().out
    assert "self-test: no camera (" in out
    assert "self-test passed: 3 frames" in out and out.rstrip().endswith("on generated frames")
