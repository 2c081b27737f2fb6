"""The three walls, checked on the source: a solution can never reach the jail, the pack
models never pay for torch, and checks never depend on the CLI or the reports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_jail_imports_only_stdlib_torch_restrictedpython_and_itself() -> None:
    stdlib = sys.stdlib_module_names
    for path in (ROOT / "tutor" / "jail").rglob("*.py"):
        for name in imports(path):
            top = name.split(".")[0]
            assert top in stdlib or top in ("torch", "RestrictedPython") or name.startswith("tutor.jail") or name == "tutor", (path.name, name)


def test_pack_models_do_not_import_torch() -> None:
    for name in ("models", "loader", "yamlnodes", "index", "builtin"):
        assert not any(n.split(".")[0] == "torch" for n in imports(ROOT / "tutor" / "pack" / f"{name}.py")), name
    probe = "import sys, tutor.cli, tutor.pack.loader; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout.strip() == "False"


def test_checks_import_neither_cli_nor_reports() -> None:
    for path in (ROOT / "checks").glob("*.py"):
        for name in imports(path):
            assert not name.startswith(("tutor.cli", "tutor.reports", "tutor.ui")), (path.name, name)


def test_nothing_outside_the_grader_unpickles() -> None:
    for path in (ROOT / "tutor").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "pickle.load" not in text and "torch.load(" not in text, path
