"""`tutor report --html`: a class graded by the real CLI, the page parsed back and opened
in a real headless browser."""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import PACKS, run_tutor, make_workspace

TASK = "views/first-row"
ANSWERS = {
    "ana": "def solve(x):\n    return x[0]\n",  # right
    "bo": "def solve(x):\n    return x[0].clone()\n",  # a copy where a view is asked for
    "chen": "def solve(x):\n    return x.view(-1, 7)\n",  # RuntimeError on every case
    "dana": "def solve(x):\n    return x[0] * 1\n",  # another copy
}


class _Tables(HTMLParser):
    """Each table with an id, as rows of cell texts; and the number of inline SVG plots."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.svgs = 0
        self.external: list[str] = []
        self._table: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag in {"script", "link", "img", "iframe"} or (a.get("src") or "").startswith("http"):
            self.external.append(tag)
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table or ""] = []
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append([])
        elif tag in {"td", "th"} and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in {"td", "th"} and self._cell is not None and self._table is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    for name, code in ANSWERS.items():
        make_workspace(root / name, PACKS / "mini", {TASK: code})
    # Ana worked in her workspace: a real check leaves a progress file with an attempt and a pass.
    assert run_tutor("check", TASK, cwd=root / "ana").returncode == 0
    proc = run_tutor("grade", *ANSWERS, "--format", "json", "--output", "class.json", "--seed", "3", cwd=root)
    assert proc.returncode == 1, proc.stderr
    return root


def _page(root: Path, *extra: str) -> tuple[str, _Tables]:
    proc = run_tutor("report", "class.json", "--html", "report.html", *extra, cwd=root)
    assert proc.returncode == 0, proc.stderr
    html = (root / "report.html").read_text(encoding="utf-8")
    parsed = _Tables()
    parsed.feed(html)
    return html, parsed


def test_the_page_counts_what_failed(graded_class: Path) -> None:
    html, page = _page(graded_class)
    assert page.svgs >= 3 and not page.external  # score histogram, pass rates, error types; nothing loaded
    head, *rows = page.tables["tasks"]
    row = dict(zip(head, rows[0]))
    assert row["task"].startswith(TASK) and row["passed"] == "1/4"
    # Two students made a copy: the mistake counts 2 students, named by its aspect only.
    assert row["failed most (check.aspect: students)"] == "aliasing.copy-where-view: 2"
    assert "RuntimeError: 1" in row["errors (type: students)"]
    # Ana's progress file is beside her workspace: attempts and time to pass are shown.
    assert row["median attempts"] == "1" and row["median time to pass"] != "–"
    students = {r[0]: r for r in page.tables["students"][1:]}
    assert set(students) == set(ANSWERS)  # folder names, not the grading machine's paths
    assert students["ana"][1] == "1/1" and students["chen"][2] == "0/1"
    assert str(graded_class) not in html


def test_the_page_in_chinese(graded_class: Path) -> None:
    html, page = _page(graded_class, "--lang", "zh")
    assert "班级报告" in html and "成绩分布" in html
    assert page.tables["tasks"][0][0] == "练习"


def test_shards_are_joined(graded_class: Path) -> None:
    data = json.loads((graded_class / "class.json").read_text(encoding="utf-8"))
    for k, part in enumerate((data[:2], data[2:])):
        (graded_class / f"part{k}.json").write_text(json.dumps(part), encoding="utf-8")
    proc = run_tutor("report", "part0.json", "part1.json", "--html", "joined.html", cwd=graded_class)
    assert proc.returncode == 0, proc.stderr
    page = _Tables()
    page.feed((graded_class / "joined.html").read_text(encoding="utf-8"))
    assert len(page.tables["students"]) == 1 + len(ANSWERS)


def test_a_bad_report_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    proc = run_tutor("report", "bad.json", "--html", "out.html", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "bad.json" in proc.stderr
    proc = run_tutor("report", "bad.json", "--html", "no/such/dir/out.html", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Chromium (.ci/run installs it)")
def test_the_page_renders_in_a_real_browser(graded_class: Path) -> None:
    from PIL import Image

    _page(graded_class)
    shot = graded_class / "report.png"
    url = (graded_class / "report.html").as_uri()
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert "<svg" in dom.stdout and "aliasing.copy-where-view" in dom.stdout
    subprocess.run([*common, f"--screenshot={shot}", "--window-size=1280,1400", url],
                   capture_output=True, timeout=120, check=True)
    print(f"screenshot: {shot}")
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 1400)
    # Drawn, not blank: a good share of the page is ink (text, bars, table rules).
    ink = sum(image.histogram()[:200])
    assert ink > 0.01 * image.size[0] * image.size[1]
