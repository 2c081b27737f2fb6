"""Feedback that names the mistake made: aspects, precedence, aspect-keyed texts, misconception
detectors, explained runtime errors and case numbering, through the real CLI in both languages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import pytest

from conftest import PACKS, grade_json, make_workspace, run_tutor

KINDS = PACKS / "kinds"

# kinds task -> (wrong answer, the failing check, its aspect)
KIND_ASPECTS = {
    "kinds/view-row": ("def solve(x):\n    return x[0].clone()\n", "aliasing", "copy-where-view"),
    "kinds/add-inplace": ("def solve(x):\n    x = x + 1\n", "mutation", "unchanged-input"),
    "kinds/add-copy": ("def solve(x):\n    x.add_(1)\n    return x\n", "mutation", "changed-input"),
    "kinds/square-grad": ("def solve(x):\n    return x * x.detach()\n", "backward", "wrong-grad"),
    "kinds/cube-backward-yourself": ("def solve(x):\n    return (x ** 3).sum().detach()\n", "input_grads", "missing-grad"),
    "kinds/sigmoid-by-hand": ("import torch\ndef solve(x):\n    return torch.special.expit(x)\n", "forbid", "torch.sigmoid"),
    "kinds/use-view": ("def solve(x):\n    return x.reshape(-1)\n", "require", "Tensor.view"),
    "kinds/no-loops": ("import torch\ndef solve(x):\n    t = torch.zeros(())\n    for v in x:\n        t = t + v\n    return t\n",
                       "source", "no_loops"),
}


@pytest.fixture(scope="module")
def kinds_graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    ws = make_workspace(tmp_path_factory.mktemp("kinds"), KINDS, {t: w[0] for t, w in KIND_ASPECTS.items()})
    code, data, stderr = grade_json(str(ws), "--pack", str(KINDS), "--seed", "5")
    assert code == 1 and "Traceback" not in stderr
    return {v["task"]: v for v in data[0]["tasks"]}


@pytest.mark.parametrize("task", sorted(KIND_ASPECTS))
def test_every_failed_check_names_its_aspect(kinds_graded: dict, task: str) -> None:
    _, check, aspect = KIND_ASPECTS[task]
    failed = [c for c in kinds_graded[task]["checks"] if not c["passed"]]
    assert failed and {c["name"] for c in failed} == {check}
    assert {c["aspect"] for c in failed} == {aspect}
    assert all(c["aspect"] is None for c in kinds_graded[task]["checks"] if c["passed"])
    assert all(list(c)[:2] == ["name", "aspect"] for c in kinds_graded[task]["checks"])  # beside the name


def test_check_json_carries_the_aspect_in_chinese_too(tmp_path: Path) -> None:
    answer = tmp_path / "answer.py"
    answer.write_text("def solve(x):\n    return x[0].clone()\n")
    proc = run_tutor("check", "kinds/view-row", "--file", str(answer), "--pack", str(KINDS), "--format", "json",
                     "--lang", "zh", "--seed", "5")
    verdict = json.loads(proc.stdout)
    failed = [c for c in verdict["checks"] if not c["passed"]]
    assert proc.returncode == 1 and {c["aspect"] for c in failed} == {"copy-where-view"}
    assert "副本" in failed[0]["message"]


FEEDBACK = PACKS / "feedback"


def _fn(body: str, args: str = "x") -> str:
    return "import torch\ndef solve(" + args + "):\n" + "".join(f"    {line}\n" for line in body.split("\n"))


class Wrong(NamedTuple):
    """A wrong answer to the feedback pack: the check and aspect reported first, texts shown
    (en, zh), a text that must not be shown, and the misconception detector that speaks."""

    task: str
    code: str
    check: str
    aspect: str
    says: tuple[str, str]
    not_said: str | None = None
    detector: str | None = None


BACKWARD_TIMES_X = (
    "import torch\nclass Sq(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, x):\n"
    "        ctx.save_for_backward(x)\n        return x * x\n    @staticmethod\n    def backward(ctx, g):\n"
    "        (x,) = ctx.saved_tensors\n        return g * x\ndef solve(x):\n    return Sq.apply(x)\n"
)

# Column k of a task is graded in workspace k, all in one CLI call per language.
ANSWERS = [
    # Aspect-keyed text beats the check-level one; the check-level one shows where it fits...
    Wrong("advice/factories", _fn("n, m = x.shape\nreturn torch.eye(n, dtype=x.dtype)"), "result", "shape",
          ("`torch.eye(n, m)` takes the rows", "接受行数和列数"), "default to float32", "off-by-one"),
    Wrong("advice/factories", _fn("n, m = x.shape\nreturn torch.eye(n, m)"), "result", "dtype",
          ("The factories default to float32", "工厂函数默认是 float32"), "takes the rows", "dtype-promotion"),
    # ... and not where the finding contradicts it (the dtype is right here).
    Wrong("advice/factories", _fn("n, m = x.shape\nreturn torch.ones(n, m, dtype=x.dtype)"), "result", "values",
          ("differs from the expected value", "与期望值不同"), "default to float32"),
    # A copy made by index lists: the copy is reported first, and the slice advice is not given for strides.
    Wrong("advice/block", _fn("return x[[1, 2]][:, [1, 2]]"), "aliasing", "copy-where-view",
          ("Index lists copy; slices give views.", "用下标列表索引会复制"), "Slice ends", "copied"),
    Wrong("advice/block", _fn("return x[1:2, 1:3]"), "result", "shape", ("Slice ends are excluded.", "切片不包含终点。"),
          detector="off-by-one"),
    # In place and wrong: the mutation is reported before the values.
    Wrong("advice/relu6", _fn("return x.clamp_(min=0)"), "mutation", "changed-input",
          ("changed the input `x` in place", "原地修改了输入 `x`"), detector="returned-input"),
    # The detectors, each on a realistic wrong answer.
    Wrong("detect/transpose", _fn("return x"), "result", "shape", ("transposed", "转置"), detector="transposed"),
    Wrong("detect/permute", _fn("return x.permute(1, 2, 0)"), "result", "shape", (".permute(1, 2, 0)", "维度顺序不同"),
          detector="permuted"),
    Wrong("detect/row-sums", _fn("return x.sum(dim=0)"), "result", "shape",
          ("reduced along dim 0, but the task reduces along dim 1", "沿第 0 维归约"), detector="reduced-other-dim"),
    Wrong("detect/row-sums", _fn("return x.sum(dim=1, keepdim=True)"), "result", "shape",
          ("an extra dimension 1 of size 1", "多了大小为 1 的第 1 维"), detector="keepdim"),
    Wrong("detect/keepdim", _fn("return x.sum(dim=1)"), "result", "shape", ("`keepdim=True`", "`keepdim=True`"),
          detector="keepdim"),
    Wrong("detect/range", _fn("return torch.arange(n + 1)", "n"), "result", "shape",
          ("One element too many along dim 0 (at the end)", "第 0 维上多了一个元素（在末尾）"), detector="off-by-one"),
    Wrong("detect/range", _fn("return torch.arange(1, n + 1)", "n"), "result", "values",
          ("shifted by one along dim 0", "错开一位"), detector="off-by-one"),
    Wrong("detect/halves", _fn("return a / 2", "a"), "result", "dtype", ("true division `/`", "真除法 `/`"),
          detector="dtype-promotion"),
    Wrong("detect/scale", _fn("return x * -3"), "result", "values", ("opposite sign", "符号相反"), detector="sign"),
    Wrong("detect/scale", _fn("return x * 6"), "result", "values", ("exactly 2 times", "恰好是期望值的 2 倍"),
          detector="constant-factor"),
    Wrong("detect/scale", _fn("return x * 3 + 1"), "result", "values", ("everywhere the expected one + 1", "期望值 + 1"),
          detector="constant-offset"),
    Wrong("detect/transposed-view", _fn("return x.t().contiguous()"), "aliasing", "copy-where-view",
          ("laid out contiguously", "按连续方式排布"), detector="copied"),
    Wrong("detect/rows-view", _fn("return x[1:].clone()"), "aliasing", "copy-where-view",
          ("`clone()` made that copy", "是 `clone()` 产生了这个副本"), detector="copied"),
    Wrong("detect/own-copy", _fn("return x.contiguous()"), "aliasing", "view-where-copy",
          ("You returned `x` itself", "你返回的就是 `x` 本身"), detector="same-tensor"),
    Wrong("detect/add-one", _fn("x += 1\nreturn x"), "mutation", "changed-input",
          ("inside `x` itself and returned it", "在 `x` 本身里算出了答案"), detector="returned-input"),
    Wrong("detect/square-grad", BACKWARD_TIMES_X, "backward", "wrong-grad", ("times 0.5: a constant factor of the chain rule",
          "乘以 0.5：链式法则"), detector="grad-chain-factor"),
    Wrong("detect/cube-grad", _fn("y = (x ** 3).sum()\ny.backward(retain_graph=True)\ny.backward()\nreturn y.detach()"),
          "input_grads", "wrong-grad", ("accumulated 2 times", "累加了 2 次"), detector="grad-accumulated"),
]


def _graded_in_both_languages(roots: list[Path], seed: str) -> dict[str, list[dict[str, dict]]]:
    """lang -> per workspace: task -> verdict, from one real `tutor grade` call per language."""
    graded = {}
    for lang in ("en", "zh"):
        code, data, stderr = grade_json(*map(str, roots), "--pack", str(FEEDBACK), "--seed", seed, "--lang", lang)
        assert code == 1 and "Traceback (most recent" not in stderr, stderr
        graded[lang] = [{v["task"]: v for v in ws["tasks"]} for ws in data]
    return graded


@pytest.fixture(scope="module")
def feedback_graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, dict]]]:
    """lang -> per workspace k: task -> verdict."""
    columns: list[dict[str, str]] = []
    for _, task, k in _answer_ids():
        if k == len(columns):
            columns.append({})
        columns[k][task] = next(ANSWERS[j].code for j, t, kk in _answer_ids() if (t, kk) == (task, k))
    roots = [make_workspace(tmp_path_factory.mktemp(f"fb{k}"), FEEDBACK, column) for k, column in enumerate(columns)]
    return _graded_in_both_languages(roots, "3")


def _answer_ids() -> list[tuple[int, str, int]]:
    seen: dict[str, int] = {}
    out = []
    for i, (task, *_rest) in enumerate(ANSWERS):
        out.append((i, task, seen.get(task, 0)))
        seen[task] = seen.get(task, 0) + 1
    return out


@pytest.mark.parametrize("i, task, k", _answer_ids(), ids=[f"{t}#{k}" for _, t, k in _answer_ids()])
def test_the_advice_shown_is_about_the_mistake_made(feedback_graded: dict, i: int, task: str, k: int) -> None:
    wrong = ANSWERS[i]
    for lang, says in zip(("en", "zh"), wrong.says):
        verdict = feedback_graded[lang][k][task]
        failed = [c for c in verdict["checks"] if not c["passed"]]
        assert failed, verdict["error"]
        first = failed[0]  # the most fundamental failure of the first failing case comes first
        assert (first["name"], first["aspect"]) == (wrong.check, wrong.aspect), [(c["name"], c["aspect"]) for c in failed]
        assert says in first["message"], first["message"]
        assert first["details"].get("misconception") == wrong.detector, first["message"]
        if wrong.not_said:
            assert all(wrong.not_said not in c["message"] for c in failed), [c["message"] for c in failed]


def test_precedence_keeps_the_values_failure_after_the_mutation(feedback_graded: dict) -> None:
    k = next(k for i, t, k in _answer_ids() if t == "advice/relu6")
    failed = [c for c in feedback_graded["en"][k]["advice/relu6"]["checks"] if not c["passed"]]
    assert [(c["name"], c["aspect"]) for c in failed] == [("mutation", "changed-input"), ("result", "values")]
    assert "ReLU6 has two bounds." in failed[1]["message"]  # the check-level text, where it is not contradicted
    assert failed[1]["details"]["feedback"] == "result"


def test_text_output_shows_the_aspect_text_in_chinese(tmp_path: Path) -> None:
    answer = tmp_path / "answer.py"
    answer.write_text(ANSWERS[0].code)
    proc = run_tutor("check", "advice/factories", "--file", str(answer), "--pack", str(FEEDBACK), "--seed", "1",
                     env={"TUTOR_LANG": "zh"})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "接受行数和列数" in proc.stdout and "工厂函数默认" not in proc.stdout


def test_validate_warns_about_feedback_for_an_aspect_that_cannot_occur(tmp_path: Path) -> None:
    lesson = (FEEDBACK / "advice.yaml").read_text(encoding="utf-8").replace(
        "      result.shape:", "      result.strides: never\n      mutation.copy: never\n      result.shape:", 1)
    path = tmp_path / "lesson.yaml"
    path.write_text(lesson, encoding="utf-8")
    from tutor.pack.loader import load_pack
    from tutor.validate import feedback_warnings

    english = [str(w) for w in feedback_warnings(load_pack(path), "en")]
    assert len(english) == 2 and all(f"{path}:" in w for w in english)
    assert "`result.strides`" in english[0] and "`mutation.copy`" in english[1] and "changed-input" in english[1]
    proc = run_tutor("lesson", "validate", "--json", str(path), env={"TUTOR_LANG": "zh"})
    assert proc.returncode == 0, proc.stderr  # a warning, not an error
    report = json.loads(proc.stdout.splitlines()[0])
    assert report["valid"] and len(report["warnings"]) == 2 and "永远不会显示" in report["warnings"][0]["message"]


# Known runtime errors: (task, code, error kind, explanation (en, zh)) — each explained above the traceback.
ERRORS = [
    ("errors/add-column", _fn("return x + y", "x, y"), "broadcast",
     ("dimension 1 has 4 against 3:\n  x  (3, 4)\n  y  (   3)", "第 1 维是 4 对 3：\n  x  (3, 4)\n  y  (   3)")),
    ("errors/flatten", _fn("return x.view(-1)"), "view-non-contiguous", ("use `reshape`", "请用 `reshape`")),
    ("errors/double-leaf", _fn("x.mul_(2)\nreturn x"), "inplace-leaf", ("leaf tensor that requires grad", "需要梯度的叶子节点")),
    ("errors/grad-twice", _fn("y = (x ** 3).sum()\ny.backward()\ny.backward()\nreturn x.grad"), "backward-twice",
     ("`retain_graph=True`", "`retain_graph=True`")),
    ("errors/matmul-dtypes", _fn("return a @ b", "a, b"), "mm-dtype", ("same dtype (float64 ≠ float32 here)", "dtype 相同（这里是 float64 ≠ float32）")),
    ("errors/devices", _fn("return x + torch.ones(3, 3, device='meta')"), "device-mismatch",
     ("without `device=`", "不带 `device=`")),
    ("errors/to-numpy", _fn("return float(x.numpy().sum())"), "numpy-requires-grad", ("`.detach().numpy()`", "`.detach().numpy()`")),
]
NUMBERING = {  # the first case is case 1 on every screen and in every message
    "errors/loop": (_fn("while True:\n    pass"), "timeout", ("on case 1:", "在第 1 个用例上")),
    "advice/relu6": (_fn("raise ValueError('no')"), "error", ("on case 1 (x:", "在第 1 个用例（x:")),
    "detect/scale": (_fn("return None"), "failed", ("", "")),
}


@pytest.fixture(scope="module")
def errors_graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict]]:
    """lang -> task -> verdict, the erroring answers in one workspace."""
    answers = {task: code for task, code, *_ in ERRORS} | {task: code for task, (code, *_) in NUMBERING.items()}
    ws = make_workspace(tmp_path_factory.mktemp("errors"), FEEDBACK, answers)
    return {lang: workspaces[0] for lang, workspaces in _graded_in_both_languages([ws], "3").items()}


@pytest.mark.parametrize("task, code, kind, says", ERRORS, ids=[e[0] for e in ERRORS])
def test_known_runtime_errors_are_explained_above_the_traceback(errors_graded: dict, task: str, code: str, kind: str,
                                                               says: tuple[str, str]) -> None:
    for lang, text in zip(("en", "zh"), says):
        verdict = errors_graded[lang][task]
        assert verdict["status"] == "error" and verdict["error_kind"] == kind, verdict["error"]
        error = verdict["error"]
        assert text in error and error.index(text) < error.index("Traceback (most recent call last)")
        assert "Error: " in error.rsplit("\n", 2)[-1] or "Error: " in error.splitlines()[-1]  # the learner's own last line


def test_cases_are_counted_from_one(errors_graded: dict) -> None:
    for task, (_, status, says) in NUMBERING.items():
        for lang, text in zip(("en", "zh"), says):
            verdict = errors_graded[lang][task]
            assert verdict["status"] == status
            assert text in (verdict["error"] or ""), verdict["error"]
    failed = [c for c in errors_graded["en"]["detect/scale"]["checks"] if not c["passed"]]
    assert failed[0]["case"] == 0 and failed[0]["aspect"] == "structure"  # JSON `case` is the 0-based index


def test_text_output_numbers_cases_from_one_and_explains_errors(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws", FEEDBACK, {"errors/add-column": ERRORS[0][1], "detect/scale": _fn("return x * 6")})
    shown = run_tutor("check", "errors/add-column", "--pack", str(FEEDBACK), "--lang", "zh", cwd=ws)
    assert shown.returncode == 1 and "广播从右边开始对齐形状" in shown.stdout and "第 1 个用例" in shown.stdout
    graded = run_tutor("grade", str(ws), "--pack", str(FEEDBACK), "--format", "text", "--seed", "1")
    assert "case 1" in graded.stdout and "case 0" not in graded.stdout, graded.stdout


# Engine parts the course needs: a meta case for device placement, a result option for 0-d tensor or float.
ENGINE = {
    # task: (right answers, wrong answers with (status, failing check, aspect, text (en, zh)))
    "engine/from-list": (["return torch.tensor(values, device=device)", "return torch.as_tensor(values).to(device)"],
                         [("return torch.tensor(values)", "failed", "result", "device", ("`meta` device", "`meta` 设备"))]),
    "engine/identity-residual": (
        ["return x @ torch.linalg.inv(x) - torch.eye(len(x), device=x.device)",
         "return x @ x.inverse() - torch.eye(*x.shape, dtype=x.dtype).to(x.device)"],
        [("return x @ torch.linalg.inv(x) - torch.eye(x.shape[0])", "error", None, "device-mismatch",
          ("without `device=`", "不带 `device=`"))]),
    "engine/mean-either": (["return x.mean()", "return x.mean().item()", "return float(x.sum() / len(x))"],
                           [("return float(x.sum())", "failed", "result", "values", ("is 7.0, expected 2.33", "是 7.0，应为 2.33")),
                            ("return x.median()", "failed", "result", "values", ("expected 2.33", "期望 2.33"))]),
    "engine/mean-float": (["return x.mean()", "return x.mean().item()"],
                          [("return x.sum()", "failed", "result", "values", ("is 7.0", "是 7.0"))]),
    "engine/mean-tensor": (["return x.mean()"],
                           [("return x.mean().item()", "failed", "result", "type", ("should be a tensor", "但实际是"))]),
}


@pytest.fixture(scope="module")
def engine_graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, dict]]]:
    """lang -> per workspace: task -> verdict; workspace k holds the k-th right answers, then the wrong ones."""
    args = {"engine/from-list": "values, device"}
    columns = []
    for kind in (0, 1):
        for k in range(max(len(v[kind]) for v in ENGINE.values())):
            columns.append({task: _fn(v[kind][k] if kind == 0 else v[kind][k][0], args.get(task, "x"))
                            for task, v in ENGINE.items() if k < len(v[kind])})
    roots = [make_workspace(tmp_path_factory.mktemp(f"engine{i}"), FEEDBACK, column) for i, column in enumerate(columns)]
    return _graded_in_both_languages(roots, "2")


def test_right_answers_pass_the_meta_case_and_either_scalar(engine_graded: dict) -> None:
    depth = max(len(v[0]) for v in ENGINE.values())
    for task, (right, _) in ENGINE.items():
        for k in range(len(right)):
            verdict = engine_graded["en"][k][task]
            assert verdict["status"] == "passed", (task, right[k], verdict["error"], verdict["checks"])
    cases = engine_graded["en"][0]["engine/identity-residual"]["cases"]
    assert depth == 3 and len(cases) == 2 and cases[1]["hidden"] and cases[1]["args"]["x"] == "float32[2, 2] (meta)"


def test_wrong_answers_fail_on_the_meta_case_or_the_scalar_value(engine_graded: dict) -> None:
    first_wrong = max(len(v[0]) for v in ENGINE.values())
    for task, (_, wrong) in ENGINE.items():
        for k, (code, status, check, aspect, says) in enumerate(wrong):
            for lang, text in zip(("en", "zh"), says):
                verdict = engine_graded[lang][first_wrong + k][task]
                assert verdict["status"] == status, (task, code, verdict["error"])
                if status == "error":
                    assert verdict["error_kind"] == aspect and text in verdict["error"]
                    continue
                failed = [c for c in verdict["checks"] if not c["passed"]]
                assert (failed[0]["name"], failed[0]["aspect"]) == (check, aspect) and text in failed[0]["message"], failed
    from_list = engine_graded["en"][first_wrong]["engine/from-list"]
    failed = [c for c in from_list["checks"] if not c["passed"]]
    assert [c["case"] for c in failed] == [len(from_list["cases"]) - 1]  # only the meta case catches it on a CPU
    assert failed[0]["details"]["misconception"] == "fixed-device"


def test_a_source_check_fails_on_its_rules_not_on_where_they_read() -> None:
    from tutor.checks import possible_aspects
    from tutor.pack.models import SourceOptions

    rules = possible_aspects("source", SourceOptions(no_loops=True, scope="file"))
    assert rules == {"no_loops", "entry"}  # `scope` says where the rules read: no `source.scope` feedback


@pytest.mark.parametrize(("reported", "named"), [(0, 1), (2, 3), (4, 4)])
def test_a_crash_names_the_case_it_was_on_counting_from_one(reported: int, named: int) -> None:
    """The child reports each case as it ends and nothing as one starts, so a child killed
    mid-run was on the first case without a result (the last one, if it died after them all)."""
    import signal

    from tutor.grading.engine import _crash_hint, _read_outcome
    from tutor.grading.pool import RunResult
    from tutor.jail import frames

    sent = [({"kind": "layers", "active": ["rlimits"]}, b"")] + \
        [({"kind": "case", "case": i, "error": "Traceback: boom"}, b"") for i in range(reported)]
    run = RunResult(-signal.SIGKILL, False, "", "", b"".join(frames.pack_frame(h, b) for h, b in sent))
    outcome = _read_outcome(run, 4, "cpu")
    assert outcome.inconsistent is None and not outcome.done
    assert f"killed on case {named}," in _crash_hint(-signal.SIGKILL, outcome, 4, 512, "en")
    assert f"在第 {named} 个用例上" in _crash_hint(-signal.SIGSEGV, outcome, 4, 512, "zh")
