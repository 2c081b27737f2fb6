"""A wheel of the tutor that is running, so a bundle or a repository can install it with no index.

The distribution is not on any public index, so everything that installs
tutor elsewhere (the Gradescope image, a GitHub Classroom workflow) carries
this wheel. It is built from the installed files through the import system,
which finds them the same way for an installed wheel and for an editable
install (where ``checks/`` and ``lessons/`` live outside ``tutor/`` in the
repository): no build backend, no network, the same bytes for the same files.

Its metadata (name, version, requirements, entry points) is the installed
distribution's own, so the wheel installs what ``pip install -e .`` would.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import os
import zipfile
from importlib import metadata
from pathlib import Path

from tutor.errors import UserError

# Packages that ship inside ``tutor`` but live in their own top-level folder in
# the repository (``[tool.setuptools] package-dir`` in pyproject.toml); every
# other package is found under ``tutor/`` itself.
MAPPED_PACKAGES = ("tutor.checks", "tutor.lessons")
DATA_SUFFIXES = (".py", ".yaml")
_EPOCH = (2020, 1, 1, 0, 0, 0)
_SKIP_DIRS = {"__pycache__"}


def wheel_name(dist: metadata.Distribution) -> str:
    name = dist.metadata["Name"].replace("-", "_").replace(".", "_").lower()
    return f"{name}-{dist.version}-py3-none-any.whl"


def installed() -> metadata.Distribution:
    """The installed distribution: its METADATA goes into the wheel.

    Not simply the first one on ``sys.path``: run from the repository (``python -m``
    puts it first), that is the ``.egg-info`` an editable install leaves in the
    checkout, which has no METADATA.
    """
    from tutor import DISTRIBUTION

    found = [dist for dist in metadata.distributions(name=DISTRIBUTION) if dist.read_text("METADATA")]
    if found:
        return found[0]
    try:
        return metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise UserError(
            f"tutor is not installed as {DISTRIBUTION} (run `pip install -e .` in the repository), "
            "so there is no wheel to bundle"
        ) from None


def package_files() -> dict[str, Path]:
    """Archive name (``tutor/...``) -> file on disk, for every file the wheel ships."""
    found: dict[str, Path] = {}
    pending = ["tutor", *MAPPED_PACKAGES]
    seen: set[str] = set()
    while pending:
        package = pending.pop()
        if package in seen:
            continue
        seen.add(package)
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise UserError(f"cannot find the package {package} of the running tutor")
        prefix = package.replace(".", "/")
        for location in spec.submodule_search_locations:
            root = Path(location)
            for entry in sorted(root.iterdir()):
                if entry.is_dir() and entry.name not in _SKIP_DIRS and (entry / "__init__.py").is_file():
                    pending.append(f"{package}.{entry.name}")
                elif entry.is_file() and entry.suffix in DATA_SUFFIXES:
                    found.setdefault(f"{prefix}/{entry.name}", entry)
    return dict(sorted(found.items()))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return f"{name},sha256={digest},{len(data)}"


def build(out_dir: Path) -> Path:
    """Write the wheel into ``out_dir``; returns its path."""
    dist = installed()
    info = f"{wheel_name(dist).rsplit('-', 3)[0]}.dist-info"
    members: dict[str, bytes] = {name: path.read_bytes() for name, path in package_files().items()}
    meta = dist.read_text("METADATA")
    if not meta:
        raise UserError(f"{dist.metadata['Name']}: the installed distribution has no METADATA")
    members[f"{info}/METADATA"] = meta.encode("utf-8")
    entry_points = dist.read_text("entry_points.txt")
    if entry_points:
        members[f"{info}/entry_points.txt"] = entry_points.encode("utf-8")
    members[f"{info}/top_level.txt"] = b"tutor\n"
    members[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: tutor.integrations.wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode("utf-8")
    record = [_record_line(name, data) for name, data in members.items()]
    record.append(f"{info}/RECORD,,")
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode("utf-8")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / wheel_name(dist)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            item = zipfile.ZipInfo(name, date_time=_EPOCH)
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o100644 << 16
            zf.writestr(item, data)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, target)
    return target
