"""Remake docs/class-report.png: a made-up class of 16 graded by the real CLI, shown in Chromium.

Each student answers every task of the built-in course with the reference or with one of the
course's own realistic wrong answers (tests/course_wrong_answers/), so the page shows the
kind of failures a real class has. Run from the repository root:

    .venv/bin/python docs/make_report_screenshot.py
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import make_workspace  # noqa: E402
from tutor.pack.loader import builtin_course, load_pack  # noqa: E402

STUDENTS = ["ana", "bo", "chen", "dana", "eli", "fang", "gus", "hana", "ivo", "jun", "kai", "lea", "mo", "nia", "oz", "pia"]


def main() -> None:
    rng = random.Random(7)
    course = load_pack(builtin_course())
    wrong: dict[str, list[dict[str, str]]] = {}
    for path in sorted((ROOT / "tests" / "course_wrong_answers").glob("*.yaml")):
        wrong.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    difficulty = {task_id: rng.uniform(0.05, 0.6) for task_id in course.task_ids()}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in STUDENTS:
            answers = {}
            for lesson, task in course.tasks():
                task_id = f"{lesson.id}/{task.id}"
                if task_id in wrong and rng.random() < difficulty[task_id]:
                    answers[task_id] = rng.choice(wrong[task_id])["code"]
                else:
                    answers[task_id] = task.solution
            make_workspace(root / name, builtin_course(), answers)
        tutor = [sys.executable, "-m", "tutor"]
        subprocess.run([*tutor, "grade", *STUDENTS, "--format", "json", "-o", "class.json", "--seed", "1"], cwd=root)
        subprocess.run([*tutor, "report", "class.json", "--html", "report.html"], cwd=root, check=True)
        out = ROOT / "docs" / "class-report.png"
        subprocess.run(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--screenshot={out}", "--window-size=1280,1500", (root / "report.html").as_uri()],
            check=True, capture_output=True,
        )
        print(out)


if __name__ == "__main__":
    main()
