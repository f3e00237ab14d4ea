"""packaging/apt/desktop.txt names every system library Qt's xcb platform needs.

The list is what `make demo` installs on a seller's desktop and what .ci/run installs;
a PySide6 upgrade that links one more library must add it there, or the app aborts on
a fresh desktop with "no Qt platform plugin could be initialized".  Read off the wheels'
own ELF headers (readelf: direct NEEDED entries) and this system's dpkg database.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import service_missing

ROOT = Path(__file__).resolve().parents[2]

# Inside PySide6's Qt folder: the xcb platform plugin, its GL integrations, and the Qt
# libraries every window uses (offscreen included).
QT_BINARIES = (
    "plugins/platforms/libqxcb.so",
    "plugins/platforms/libqoffscreen.so",
    "plugins/xcbglintegrations/*.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Gui.so.6",
    "lib/libQt6Widgets.so.6",
    "lib/libQt6Core.so.6",
    "lib/libQt6DBus.so.6",
    "lib/libQt6Network.so.6",
    # printing and the label preview (issue 13): Qt's CUPS plugin links libcups
    "plugins/printsupport/*.so",
    "lib/libQt6PrintSupport.so.6",
    "lib/libQt6Pdf.so.6",
)

# On every Debian and Ubuntu system, or pulled in by a listed package (libbrotli1 by
# libfreetype6), so the list need not name them.
BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libzstd1", "libbrotli1"}


def _listed() -> set[str]:
    names: set[str] = set()
    for line in (ROOT / "packaging/apt/desktop.txt").read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            names.update(entry.split("|"))
    return names


def _needed(binary: Path) -> set[str]:
    out = subprocess.run(
        ["readelf", "-d", str(binary)], capture_output=True, text=True, check=True
    ).stdout
    return {line.rsplit("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line}


def _system_paths() -> dict[str, str]:
    """soname -> path of this machine's own-architecture copy, from the linker cache."""
    arch = {"x86_64": "x86-64", "aarch64": "AArch64"}.get(platform.machine(), "")
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths: dict[str, str] = {}
    for line in out.splitlines()[1:]:
        name, _, rest = line.strip().partition(" ")
        if arch in rest:
            paths.setdefault(name, rest.rsplit("=> ", 1)[-1])
    return paths


def _packages_of(paths: set[str]) -> dict[str, str]:
    """path -> owning package, in one dpkg query.  Merged /usr: dpkg may know a file
    under /lib or /usr/lib, or only by its real path, so all three are asked."""
    variants = {v: path for path in paths for v in (path, str(Path(path).resolve()), "/usr" + path)}
    out = subprocess.run(["dpkg", "-S", *variants], capture_output=True, text=True).stdout
    owners: dict[str, str] = {}
    for line in out.splitlines():
        package, _, file = line.partition(": ")
        if file in variants:
            owners.setdefault(variants[file], package.split(":", 1)[0])
    return owners


def test_every_library_qt_links_is_in_the_apt_list() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the apt list is for Debian and Ubuntu")
    for tool in ("readelf", "dpkg", "ldconfig"):
        if shutil.which(tool) is None:
            service_missing(f"{tool} not found (Debian/Ubuntu with binutils)")
    import PySide6

    qt = Path(PySide6.__file__).parent / "Qt"
    binaries = [path for pattern in QT_BINARIES for path in qt.glob(pattern)]
    assert any(b.name == "libqxcb.so" for b in binaries), f"no xcb plugin under {qt}"
    needed = set().union(*(_needed(b) for b in binaries))
    system = {name for name in needed if not (qt / "lib" / name).exists()}  # not bundled

    paths = _system_paths()
    absent = sorted(name for name in system if name not in paths)
    if absent:
        service_missing(f"not installed: {', '.join(absent)} (make demo installs them)")
    owners = _packages_of({paths[name] for name in system})
    unknown = sorted(name for name in system if paths[name] not in owners)
    assert not unknown, f"no Debian package owns {unknown}"
    packages = {name: owners[paths[name]] for name in system}
    allowed = _listed() | BASE
    missing = sorted(f"{p} ({name})" for name, p in packages.items() if p not in allowed)
    assert not missing, f"add to packaging/apt/desktop.txt: {missing}"
