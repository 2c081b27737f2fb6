"""The built-in course: its shape, both languages everywhere, and a realistic wrong answer
per task failing with the check that teaches the point (graded in one real batch)."""

from __future__ import annotations

import json

import pytest
import yaml

from conftest import ROOT, course_answers, grade_course_answers
from tutor.pack.loader import builtin_course, load_pack

WRONG_DIR = ROOT / "tests" / "course_wrong_answers"
COURSE = load_pack(builtin_course())


WRONG = course_answers(WRONG_DIR)

# What the seed lesson's tables and examples name, each as it appears in a reference solution.
SEED_APIS = [
    "float64", "float16", "uint8", "int8", "int16", "int32", "int64", "set_default_dtype",
    "torch.tensor", "ones", "zeros", "eye", "arange", "linspace", "rand", "randn", "normal", "randperm",
    "from_numpy", ".shape", "mean", "sum", "median", "mode", "norm", "dist", "std", "var", "cumsum",
    "cumprod", "abs", "sqrt", "div", "exp", "fmod", "log", "pow", "cos", "sin", "asin", "atan2", "cosh",
    "ceil", "round", "floor", "trunc", "clamp", "sigmoid", "tanh", "dim=", "trace", "diag", "triu", "tril",
    "mm", "matmul", ".t()", "inverse", "svd", "reshape", "view", "resize_", "untyped_storage",
    "storage_offset", "stride", "requires_grad", "backward", ".grad", "grad_fn", "is_leaf", "retain_grad",
    "no_grad", "detach",
]


def _texts(model: object) -> list[object]:
    """Every human-readable text field of a lesson and its tasks."""
    found = [model.title, model.summary, model.intro]  # type: ignore[attr-defined]
    for task in model.tasks:  # type: ignore[attr-defined]
        found += [task.title, task.prompt, task.summary, *task.hints, *task.feedback.values()]
    return found


def test_course_size_and_shape() -> None:
    assert len(COURSE.task_ids()) >= 75  # issue 11: the second edition
    for lesson in COURSE.lessons:
        assert 5 <= len(lesson.tasks) <= 12, lesson.id


def test_every_text_in_english_and_chinese() -> None:
    for lesson in COURSE.lessons:
        for text in _texts(lesson):
            assert text.languages() >= {"en", "zh"}, (lesson.id, text)
            assert text.get("en").strip() and text.get("zh").strip()
    assert COURSE.meta.title.languages() >= {"en", "zh"}


def test_seed_apis_are_exercised() -> None:
    # A solution's code, or the arguments it is given (dtypes are often arguments).
    solutions = "\n".join(f"{task.solution}\n{task.cases}\n{task.random_args}" for _, task in COURSE.tasks())
    missing = [api for api in SEED_APIS if api not in solutions]
    assert len(missing) <= len(SEED_APIS) // 10, f"not exercised: {missing}"


def test_tasks_grade_what_they_teach() -> None:
    for lesson, task in COURSE.tasks():
        kinds = {c.kind for c in task.checks}
        assert task.cases, f"{lesson.id}/{task.id} needs fixed cases a learner can reason about"
        if lesson.id == "ecosystem":
            continue
        # A predict task runs its snippet on one fixed case; validation refuses answers that depend on its random values.
        assert task.random_cases or not any(c.has_random() for c in task.cases) or kinds & {"source", "predict"}, task.id
    assert sum("cuda" in t.devices and any("device" in str(c.root) for c in t.cases) for _, t in COURSE.tasks()) >= 2


def test_every_task_has_a_wrong_answer() -> None:
    assert set(COURSE.task_ids()) <= set(WRONG), sorted(set(COURSE.task_ids()) - set(WRONG))


@pytest.fixture(scope="module")
def wrong_batch(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, int], dict]:
    code, verdicts, stderr = grade_course_answers(tmp_path_factory, WRONG)
    assert code == 1 and "Traceback" not in stderr
    return verdicts


CASES = [(task, k) for task, entries in sorted(WRONG.items()) for k in range(len(entries))]


@pytest.mark.parametrize("task, k", CASES, ids=[f"{t}#{k}" for t, k in CASES])
def test_wrong_answer_fails_with_the_intended_check(wrong_batch: dict, task: str, k: int) -> None:
    """An entry may also say which ``aspect`` of that check fails and a text the learner is shown
    (``says``: a substring of the first failure's message, advice and detector sentence included).
    ``fails: error`` is an answer that raises (a freed graph, mixed devices on the meta case): the
    verdict is an error, and ``says`` is found in its explanation."""
    entry = WRONG[task][k]
    verdict = wrong_batch[task, k]
    expected = entry["fails"]
    assert verdict["status"] != "passed", f"{task}: a wrong answer passed"
    if expected == "error":
        assert verdict["status"] == "error" and entry.get("says", "") in (verdict["error"] or ""), f"{task}: {verdict['status']} {json.dumps(verdict['error'])[:300]}"
        return
    failed = [c["name"] for c in verdict["checks"] if not c["passed"]]
    assert expected in failed, f"{task}: expected {expected} to fail, got {verdict['status']} {failed} {json.dumps(verdict['error'])[:300]}"
    first = next(c for c in verdict["checks"] if not c["passed"] and c["name"] == expected)
    if "aspect" in entry:
        assert first["aspect"] == entry["aspect"], f"{task}: {expected} failed on {first['aspect']}: {first['message']}"
    if "says" in entry:
        assert entry["says"] in first["message"], f"{task}: {entry['says']!r} not in {first['message']!r}"


def test_wrong_answer_entries_use_known_keys_and_aspects() -> None:
    """A typo in an entry (``aspects:``, an aspect no check has) must not silently assert nothing."""
    from tutor.checks import possible_aspects

    for task, entries in WRONG.items():
        found = COURSE.find(task)
        assert found is not None, f"{task} is not a task of the course"
        for entry in entries:
            assert set(entry) <= {"fails", "code", "aspect", "says"}, (task, sorted(entry))
            if entry["fails"] == "error":
                assert "aspect" not in entry, (task, "an error has no check aspect")
                continue
            spec = found[1].check(entry["fails"])
            assert spec is not None, f"{task}: the task has no check {entry['fails']}"
            if "aspect" in entry:
                possible = possible_aspects(spec.kind, spec.options)
                assert possible is None or entry["aspect"] in possible, (task, entry["aspect"], possible)


def test_course_loads_with_the_pure_python_yaml_parser(monkeypatch) -> None:
    """libyaml accepts a few things PyYAML's own parser rejects; the course must suit both."""
    from tutor.pack import yamlnodes

    monkeypatch.setattr(yamlnodes, "_LOADER", yaml.SafeLoader)
    assert load_pack(builtin_course()).task_ids() == COURSE.task_ids()


def test_hints_give_the_answer_only_last() -> None:
    """Hints go nudge, then API, then the answer: the reference's returned expression appears
    in no hint before the last one."""
    for lesson, task in COURSE.tasks():
        assert len(task.hints) >= 3, f"{lesson.id}/{task.id}"
        returns = [line.strip()[len("return "):] for line in task.solution.splitlines() if line.strip().startswith("return ")]
        answer = returns[-1] if returns else ""
        early = [h.get(lang) for h in task.hints[:-1] for lang in ("en", "zh")]
        assert len(answer) <= 3 or not any(answer in h for h in early), f"{lesson.id}/{task.id}: {answer}"


def test_chinese_terms_are_the_course_s_own() -> None:
    """视图 for a view, 步长（stride）for strides and 间隔 for arange's step, 沿第 0 维 for dim=0."""
    for lesson in COURSE.lessons:
        zh = "\n".join(text.get("zh") for text in _texts(lesson))
        for wrong in ("沿行归约", "沿列归约", "沿行方向", "视角"):
            assert wrong not in zh, (lesson.id, wrong)
        if "步长" in zh:
            assert "步长（stride" in zh or "步长**（stride" in zh, lesson.id
    creation = next(lesson for lesson in COURSE.lessons if lesson.id == "creation")
    zh = "\n".join(text.get("zh") for text in _texts(creation))
    assert "步长" not in zh and "间隔" in zh
    math = next(lesson for lesson in COURSE.lessons if lesson.id == "math")
    assert "沿第 0 维" in "\n".join(text.get("zh") for text in _texts(math))
