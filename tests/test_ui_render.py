"""The learner-facing renderables: verdicts, tasks, the list, in English and Chinese.

Each verdict kind is rendered to plain text (no colour) and the facts a learner
needs must be on screen. Also: every string in ``tutor/ui`` exists in both
languages, with the same placeholders, and ``tutor/ui`` never imports torch.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import string
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import tutor.ui
from tutor.i18n import Message
from tutor.pack.loader import load_pack
from tutor.pack.models import Task
from tutor.ui.list_view import ListView, format_seconds
from tutor.ui.task_view import LessonIntro, TaskView, describe_value
from tutor.ui.verdict_view import AliasingDetailsView, TensorDetailsView, VerdictView, tidy_description
from tutor.verdict import CaseInfo, CheckResult, Status, Verdict

MINI = Path(__file__).parent / "packs" / "mini"


def render(renderable, width: int = 100, color: bool = False) -> str:
    out = io.StringIO()
    console = Console(
        file=out, width=width, color_system="truecolor" if color else None, force_terminal=color
    )
    console.print(renderable)
    return out.getvalue()


def flat(text: str) -> str:
    """Prose as one line: wrapping must not decide a test."""
    return " ".join(text.split())


def tensor(values, shape, *, stride=None, shares=(), offset=0, dtype="float32"):
    return {
        "shape": shape,
        "dtype": dtype,
        "device": "cpu",
        "stride": stride if stride is not None else _contiguous(shape),
        "offset": offset,
        "values": values,
        "shares_storage_with": list(shares),
    }


def _contiguous(shape):
    stride, acc = [], 1
    for d in reversed(shape):
        stride.insert(0, acc)
        acc *= d
    return stride


def verdict(status=Status.FAILED, checks=(), **kw) -> Verdict:
    base = dict(task="views/first-row", status=status, score=0, max_score=1, device="cpu",
                seed=1234, duration_ms=41, checks=list(checks),
                cases=[CaseInfo(0, False, {"x": "float32[2, 3]"}), CaseInfo(1, True, {"x": "float32[4, 2]"})])
    base.update(kw)
    return Verdict(**base)


VALUE_DETAILS = {
    "kind": "tensor",
    "path": "result",
    "expected": tensor([[1.0, 2.0, 3.0], [4.0, 5.5, 6.0]], [2, 3], shares=["x"]),
    "got": tensor([[1.0, 2.0, 3.0], [4.0, 9.25, 6.0]], [2, 3], stride=[1, 2]),
    "first_index": [1, 1],
    "expected_value": 5.5,
    "got_value": 9.25,
    "max_abs_diff": 3.75,
    "rtol": 1.3e-6,
    "atol": 1e-5,
    "mismatch": [[False, False, False], [False, True, False]],
}

GRAD_DETAILS = {
    "kind": "tensor",
    "path": "x.grad",
    "expected": tensor([2.0, 2.0, 2.0], [3]),
    "got": tensor([1.0, 1.0, 1.0], [3]),
    "first_index": [0],
    "expected_value": 2.0,
    "got_value": 1.0,
    "max_abs_diff": 1.0,
    "rtol": 1.3e-6,
    "atol": 1e-5,
    "mismatch": [True, True, True],
}

ALIAS_DETAILS = {"kind": "aliasing", "path": "result", "expected_shares": ["x"], "got_shares": []}


def failed_verdict() -> Verdict:
    return verdict(
        checks=[
            CheckResult("result", False, 0, "result: values differ at [1, 1]: expected 5.5, got 9.25",
                        VALUE_DETAILS),
            CheckResult("result", True, 1),
            CheckResult("aliasing", False, 0, "aliasing: the result is a copy, not a view of x", ALIAS_DETAILS),
            CheckResult("aliasing", False, 1, "aliasing: the result is a copy, not a view of x", ALIAS_DETAILS),
            CheckResult("input_grads", False, 0, "x.grad differs at [0]", GRAD_DETAILS),
        ]
    )


# ---------------------------------------------------------------- verdicts


def test_pass_praise_summary_next_and_reference():
    task = Task.model_validate({
        "id": "first-row", "title": "First row", "starter": "def solve(x):\n    pass\n",
        "solution": "def solve(x):\n    return x[0]\n", "cases": [{"x": {"shape": [2, 3]}}],
        "summary": {"en": "Indexing a row gives a **view**.", "zh": "索引一行得到的是**视图**。"},
    })
    v = verdict(Status.PASSED, [CheckResult("result", True, 0), CheckResult("result", True, 1)], score=1)
    en = render(VerdictView(v, "en", task=task, next_task=("views/col", "A column"), show_reference=True))
    assert "✓ Passed" in en and "views/first-row" in en
    assert "2/2 cases passed" in en
    assert "What you learned" in en and "Indexing a row gives a view." in en
    assert "Next: views/col · A column" in en
    assert "The reference solution" in en and "return x[0]" in en
    zh = render(VerdictView(v, "zh", task=task, next_task=None))
    assert "通过" in zh and "你学到了什么" in zh and "索引一行得到的是视图。" in zh
    assert "课程全部完成" in zh
    assert "return x[0]" not in zh  # the reference only when asked


def test_failure_shows_each_failed_check_with_tensors_side_by_side():
    out = render(VerdictView(failed_verdict(), "en"))
    assert "✗ Not yet" in out
    assert "3 of 3 checks did not hold" in out
    assert "✗ result (1/2)" in out and "✗ aliasing (0/2)" in out
    # Each failed check, with its message.
    assert "result: values differ at [1, 1]: expected 5.5, got 9.25" in out
    assert "aliasing: the result is a copy" in out
    assert "x.grad differs at [0]" in out
    # Side by side: both grids, the differing element marked (no colour: a star).
    assert "expected · float32[2, 3]" in out and "got · float32[2, 3]" in out
    grid_line = next(line for line in out.splitlines() if "9.2500" in line)
    assert "5.5000" in grid_line and "9.2500*" in grid_line
    assert "* marks the elements that differ" in out
    # The facts table.
    for fact in ("shape", "dtype", "device", "strides", "storage offset", "shares storage with x"):
        assert fact in out
    strides = next(line for line in out.splitlines() if "strides" in line)
    assert "[3, 1]" in strides and "[1, 2]" in strides and "≠" in strides
    shares = next(line for line in out.splitlines() if "shares storage with x" in line)
    assert "yes" in shares and "no" in shares
    assert "largest difference" not in out  # the check's message already says it
    # Gradients the same way.
    assert "the gradient x.grad" in out
    # The same check failing on a hidden case is summarised, with the replay seed.
    assert "also fails on: hidden case 2" in out
    assert "--seed 1234" in out


def test_failure_in_chinese():
    out = render(VerdictView(failed_verdict(), "zh"))
    assert "还没通过" in out
    assert "3 项检查中有 3 项未通过" in out
    assert "期望" in out and "实际" in out
    assert "形状" in out and "步长" in out and "存储偏移" in out and "与 x 共享存储" in out
    assert "梯度 x.grad" in out
    assert "隐藏用例 2" in out


def test_colour_highlights_instead_of_stars():
    out = render(VerdictView(failed_verdict(), "en"), color=True)
    assert "9.2500*" not in out and "9.2500" in out
    assert "\x1b[" in out
    assert "highlighted: the elements that differ" in out


def test_aliasing_explains_view_versus_copy():
    out = render(AliasingDetailsView(ALIAS_DETAILS, "en"))
    assert "shares storage with x" in out and "it is a view" in out
    out = render(AliasingDetailsView({"kind": "aliasing", "path": "result", "expected_shares": [],
                                      "got_shares": ["x"]}, "en"))
    assert "Make a copy" in flat(out)
    out = render(AliasingDetailsView(ALIAS_DETAILS, "zh"))
    assert "与 x 共享存储" in out and "视图" in out


def test_hidden_case_shows_shapes_and_seed_not_values():
    details = dict(VALUE_DETAILS, expected=tensor(None, [4, 2]), got=tensor(None, [4, 2]), mismatch=None)
    v = verdict(checks=[CheckResult("result", True, 0),
                        CheckResult("result", False, 1, "result: values differ at [1, 1]", details)])
    out = render(VerdictView(v, "en"))
    assert "hidden case 2" in out
    assert "x: float32[4, 2]" in out
    assert "(hidden case: values not shown)" in out
    assert "tutor check views/first-row --seed 1234" in flat(out)
    assert "9.2500" not in out
    zh = render(VerdictView(v, "zh"))
    assert "隐藏用例：不显示数值" in zh and "--seed 1234" in zh


def test_tensor_details_alone_say_where_they_differ():
    out = render(TensorDetailsView(VALUE_DETAILS, "en"))
    assert "first difference at [1, 1]: expected 5.5, got 9.25" in out
    assert "largest difference 3.75 (allowed: rtol 1.3e-06, atol 1e-05)" in out
    zh = render(TensorDetailsView(VALUE_DETAILS, "zh"))
    assert "第一个差异位于 [1, 1]" in zh and "最大差异 3.75" in zh


def test_case_descriptions_are_tidied():
    desc = "float32[2, 2] = [[0.3087537884712219, -1.9023311138153076], [1e-05, 2.0]]"
    assert tidy_description(desc) == "float32[2, 2] = [[0.3088, -1.9023], [1e-05, 2.0]]"
    assert len(tidy_description("x" * 1000)) == 240


def test_large_values_are_windowed_around_the_difference():
    n = 20
    exp = [[float(i * n + j) for j in range(n)] for i in range(n)]
    got = [row[:] for row in exp]
    got[15][17] = -1.0
    mismatch = [[(i, j) == (15, 17) for j in range(n)] for i in range(n)]
    details = dict(VALUE_DETAILS, expected=tensor(exp, [n, n]), got=tensor(got, [n, n]),
                   first_index=[15, 17], mismatch=mismatch)
    out = render(TensorDetailsView(details, "en"), width=140)
    assert "-1.0*" in out or "-1.*" in out
    assert "317." in out  # exp[15][17], in the window
    assert "0.  " not in out.split("got")[0].split("expected")[-1]  # row 0 is out of the window


def test_three_dimensional_and_scalar_values():
    exp = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]
    got = [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 0.0]]]
    details = dict(VALUE_DETAILS, expected=tensor(exp, [2, 2, 2]), got=tensor(got, [2, 2, 2]),
                   first_index=[1, 1, 1], mismatch=None)
    out = render(TensorDetailsView(details, "en"))
    assert "slice [1, :, :]" in out and "0.*" in out
    scalar = dict(VALUE_DETAILS, expected=tensor(2.5, []), got=tensor(3.5, []), first_index=[], mismatch=True)
    out = render(TensorDetailsView(scalar, "en"))
    assert "2.5000" in out and "3.5000*" in out


def test_int_and_bool_values_and_shape_mismatch():
    details = {"kind": "tensor", "path": "result[0]", "expected": tensor([1, 2, 3], [3], dtype="int64"),
               "got": tensor([[True, False]], [1, 2], dtype="bool"), "first_index": None,
               "expected_value": None, "got_value": None, "max_abs_diff": None, "rtol": 0, "atol": 0,
               "mismatch": None}
    out = render(TensorDetailsView(details, "en"))
    assert "the result, result[0]" in out
    assert "int64[3]" in out and "bool[1, 2]" in out
    assert "True" in out and "False" in out
    shape = next(line for line in out.splitlines() if line.startswith("shape"))
    assert "[3]" in shape and "[1, 2]" in shape and "≠" in shape


def test_error_shows_the_learners_traceback():
    error = ('Traceback (most recent call last):\n'
             '  File "/ws/exercises/views/first-row.py", line 4, in solve\n'
             '    return x[0] + y\n'
             "NameError: name 'y' is not defined")
    v = verdict(Status.ERROR, error=error)
    out = render(VerdictView(v, "en"))
    assert "Your code raised an error" in out
    assert 'File "/ws/exercises/views/first-row.py", line 4' in out
    assert "return x[0] + y" in out  # brackets stay brackets, not markup
    assert "NameError: name 'y' is not defined" in out
    zh = render(VerdictView(v, "zh"))
    assert "你的代码抛出了错误" in zh and "NameError" in zh


@pytest.mark.parametrize(
    "status, en, zh",
    [
        (Status.TIMEOUT, "Time limit exceeded", "超时"),
        (Status.CRASHED, "process running your code died", "意外终止"),
        (Status.REFUSED, "sandbox stopped a forbidden action", "沙箱阻止"),
    ],
)
def test_stopped_runs_explain_and_suggest(status, en, zh):
    v = verdict(status, error="socket.socket is not allowed" if status is Status.REFUSED else None)
    out = render(VerdictView(v, "en"))
    assert en in out and "→" in out
    if status is Status.REFUSED:
        assert "socket.socket is not allowed" in out
    assert zh in render(VerdictView(v, "zh"))


def test_printed_output_is_capped():
    lines = "\n".join(f"line {i}" for i in range(100))
    v = verdict(Status.FAILED, checks=[CheckResult("result", False, 0, "wrong")], stdout=lines)
    out = render(VerdictView(v, "en"))
    assert "Your printed output" in out
    assert "line 39" in out and "line 40" not in out
    assert "60 more lines not shown" in out
    assert "还有 60 行未显示" in render(VerdictView(v, "zh"))


def test_verdict_from_json_renders_the_same():
    v = failed_verdict()
    again = Verdict.from_json(v.to_json())
    assert render(VerdictView(again, "en")) == render(VerdictView(v, "en"))


# ---------------------------------------------------------------- tasks and the list


def test_task_view_and_intro():
    pack = load_pack(MINI)
    lesson = pack.lessons[0]
    task = lesson.tasks[0]
    out = render(LessonIntro(lesson, "en", number=1, total=1))
    assert "Lesson 1 of 1: Views and storage" in out and "A view shares its base's storage." in out
    out = render(TaskView(lesson, task, "en", path=Path("exercises/views/first-row.py"), number=1, total=1,
                          edit_hint="watch"), width=140)
    assert "views/first-row · First row" in out
    assert "Return the first row of x as a view." in out
    assert "case 1: x: float32[5, 4] (random normal)" in out
    assert "3 hidden random cases" in flat(out) and "n from 2 to 6" in flat(out)
    assert "aliasing: which inputs the result shares storage with" in flat(out)
    assert "exercises/views/first-row.py" in out
    assert "checked on every save" in out
    zh = render(TaskView(lesson, task, "zh", path=Path("exercises/views/first-row.py")), width=140)
    assert "以视图的形式返回 x 的第一行。" in zh and "随机正态分布" in zh and "你的文件" in zh
    # From a verdict's cases: what actually ran.
    cases = [CaseInfo(0, False, {"x": "float32[5, 4]"}), CaseInfo(1, True, {"x": "float32[3, 2]"})]
    out = render(TaskView(lesson, task, "en", cases=cases))
    assert "case 1: x: float32[5, 4]" in out and "1 hidden random case," in flat(out)


@pytest.mark.parametrize(
    "spec, en",
    [
        ({"shape": [5, 4]}, "float32[5, 4] (random normal)"),
        ({"shape": [3], "dist": "int", "low": 0, "high": 5}, "int64[3] (random integers in [0, 5))"),
        ({"shape": [2, "n"], "dist": "uniform", "requires_grad": True},
         "float32[2, n] (random uniform in [0, 1), requires grad)"),
        ({"shape": [4, 3], "layout": "transposed", "dtype": "float64"},
         "float64[4, 3] (random normal, transposed (not contiguous))"),
        ({"values": [[1, 2], [3, 4]], "dtype": "float64"}, "tensor([[1, 2], [3, 4]], dtype=float64)"),
        ({"dtype": "float16"}, "the dtype torch.float16"),
        ({"generator": 42}, "a torch.Generator seeded with 42"),
        ({"device": "grading"}, "the torch.device being graded on"),
        (3, "3"),
    ],
)
def test_describe_value(spec, en):
    from pydantic import TypeAdapter

    from tutor.pack.models import ValueSpec

    value = TypeAdapter(ValueSpec).validate_python(spec)
    assert describe_value(value, "en") == en
    assert describe_value(value, "zh")


def test_list_view_statuses_bars_and_locks(tmp_path):
    from test_session import make_workspace, two_lesson_pack
    from tutor.workspace import Progress

    ws, pack = make_workspace(tmp_path, two_lesson_pack(tmp_path))
    progress = Progress.load(ws)
    progress.record_attempt("views/first-row", "failed")
    progress.record_hint("views/first-row")
    out = render(ListView(pack, progress, "en", current="views/first-row"), width=120)
    assert "0 of 3 tasks done" in out
    row = next(line for line in out.splitlines() if "views/first-row" in line)
    assert "pending" in row and "current" in row and " 1 " in row
    assert "locked: finish views first" in out
    assert sum("locked" in line for line in out.splitlines() if "more/" in line) == 2
    progress.record_attempt("views/first-row", "passed")
    out = render(ListView(pack, progress, "en"), width=120)
    assert "1 of 3 tasks done" in out and "━" * 24 in out
    row = next(line for line in out.splitlines() if "views/first-row" in line)
    assert "✓ done" in row and " 2 " in row
    assert "locked" not in out
    zh = render(ListView(pack, progress, "zh"), width=120)
    assert "已完成 1/3 个练习" in zh and "完成" in zh and "未完成" in zh


def test_format_seconds():
    assert format_seconds(None, "en") == ""
    assert format_seconds(42.4, "en") == "42s"
    assert format_seconds(130, "en") == "2m 10s"
    assert format_seconds(7300, "zh") == "2小时1分"


# ---------------------------------------------------------------- every string, both languages


def _ui_modules():
    for info in pkgutil.iter_modules(tutor.ui.__path__):
        yield importlib.import_module(f"tutor.ui.{info.name}")


def _messages(obj, seen=None):
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, Message):
        yield obj
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from _messages(item, seen)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _messages(item, seen)
    elif isinstance(obj, type):
        for item in vars(obj).values():
            yield from _messages(item, seen)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_ui_message_has_english_and_chinese_with_the_same_placeholders():
    found = 0
    for module in _ui_modules():
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ != module.__name__:
                continue  # a class imported from elsewhere
            for message in _messages(value):
                found += 1
                assert message.en.strip() and message.zh.strip(), (module.__name__, name, message)
                assert _fields(message.en) == _fields(message.zh), (module.__name__, message)
                assert message.en != message.zh or not any(c.isalpha() for c in message.en), message
    assert found > 100


def test_ui_never_imports_torch():
    code = (
        "import sys, tutor.ui.session, tutor.ui.list_view, tutor.ui.task_view, tutor.ui.verdict_view;"
        "print('torch' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "False"


# ---------------------------------------------------------------- CJK text, milestones


def test_markdown_soft_breaks_between_cjk_characters_join_without_a_space():
    from tutor.ui.text import markdown

    out = render(markdown("视图与原张量\n共享存储。English\nwords stay apart."), width=100)
    assert "视图与原张量共享存储。English words stay apart." in out


def test_cjk_lines_break_between_characters_not_before_the_run():
    from tutor.ui.text import install_cjk_wrapping

    install_cjk_wrapping()
    text = "用 torch.tensor 创建很长的中文句子没有空格应该在任意汉字之间换行，好。"
    lines = render(__import__("rich.text", fromlist=["Text"]).Text(text), width=30).splitlines()
    assert lines[0].startswith("用 torch.tensor 创建很长")  # filled, not broken before the Chinese run
    assert not any(line.startswith(("，", "。")) for line in lines)  # closing punctuation never leads


def test_full_width_colon_in_chinese():
    pack = load_pack(MINI)
    lesson = pack.lessons[0]
    out = render(TaskView(lesson, lesson.tasks[0], "zh", path="exercises/views/first-row.py"))
    assert "你的文件：exercises" in out and "你的文件: " not in out


@pytest.mark.parametrize("lang, words", [("en", ["Lesson complete: Views and storage", "First row"]),
                                          ("zh", ["本课完成：视图与存储", "第一行"])])
def test_lesson_complete_lists_what_each_task_taught(lang, words):
    from tutor.ui.milestones import LessonComplete

    pack = load_pack(MINI)
    out = render(LessonComplete(pack.lessons[0], lang))
    for word in words:
        assert word in out


def test_type_mismatch_names_the_kinds_in_the_learners_language():
    import torch

    from tutor.grading.compare import compare

    zh = compare(torch.zeros(2), (1, 2), "result", rtol_atol=None, device="cpu", hidden=False, lang="zh")
    assert "张量" in zh.message and "元组" in zh.message and "a tensor" not in zh.message
    en = compare(torch.zeros(2), (1, 2), "result", rtol_atol=None, device="cpu", hidden=False, lang="en")
    assert "should be a tensor, but it is a tuple" in en.message


def test_lists_in_chinese_use_the_enumeration_comma():
    from tutor.ui.text import join_words

    checks = [CheckResult("result", False, i, "result: wrong") for i in range(3)]
    verdict = Verdict(task="views/first-row", status=Status.FAILED, score=0, max_score=1, device="cpu", seed=1,
                      duration_ms=1, checks=checks, cases=[CaseInfo(i, False, {}) for i in range(3)])
    assert "用例 2、用例 3" in render(VerdictView(verdict, "zh"))
    assert "case 2, case 3" in render(VerdictView(verdict, "en"))
    assert join_words(["a", "b"], "zh") == "a、b"
