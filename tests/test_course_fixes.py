"""The course's second edition (issue 11): every fact the lessons state about PyTorch that an
audit found wrong is pinned here by running it on real torch, beside the text that now states it.
(Right answers written another way are in tests/course_alternatives/, graded by
test_course_alternatives.py; wrong ones in tests/course_wrong_answers/.)"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch

from conftest import ROOT, grade_json, make_workspace
from test_course import COURSE, _texts
from tutor.pack.loader import builtin_course
from tutor.pack.models import Task


def _task(full_id: str) -> Task:
    found = COURSE.find(full_id)
    assert found is not None, full_id
    return found[1]


def _text(lesson_id: str) -> str:
    """Everything a learner of that lesson reads, in both languages."""
    lesson = next(lesson for lesson in COURSE.lessons if lesson.id == lesson_id)
    return "\n".join(t.get(lang) for t in _texts(lesson) for lang in ("en", "zh"))


def _imports(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def test_tensorboard_needs_its_own_package() -> None:
    """Claim 1: `torch.utils.tensorboard` imports only with the `tensorboard` package installed."""
    assert _imports("torch.utils.tensorboard") == _imports("tensorboard")
    text = _text("ecosystem")
    assert "pip install tensorboard" in text and "built in" not in text and "已内置" not in text


def test_caffe2_cannot_be_imported() -> None:
    """Claim 2: Caffe2 was merged, then removed; nothing says it lives on."""
    assert not _imports("caffe2")
    assert "lives on" not in _text("ecosystem") and "内部延续" not in _text("ecosystem")


def test_a_second_backward_fails_only_where_the_graph_saved_tensors() -> None:
    """Claim 3, with the two examples the autograd intro now gives."""
    x = torch.ones(3, requires_grad=True)
    y = (x + 2).sum()
    y.backward()
    y.backward()  # nothing saved: a second pass works and accumulates
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
    z = ((x + 2) ** 3).mean()
    z.backward()
    with pytest.raises(RuntimeError, match="second time"):
        z.backward()
    text = _text("autograd")
    assert "((x + 2) ** 3).mean()" in text and "(x + 2).sum()" in text


def test_svd_reconstructs_only_with_reduced_matrices() -> None:
    """Claim 4: on a 3x2 matrix the default full_matrices=True factors do not multiply back."""
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    u, s, vh = torch.linalg.svd(x)
    with pytest.raises(RuntimeError):
        u @ torch.diag(s) @ vh
    u, s, vh = torch.linalg.svd(x, full_matrices=False)
    torch.testing.assert_close(u @ torch.diag(s) @ vh, x)
    assert "full_matrices=False" in _text("linalg")


def test_norm_is_taught_as_deprecated() -> None:
    """Claim 5: the math lesson names the replacement, and its reference uses it."""
    text = _text("math")
    assert "torch.linalg.vector_norm" in text and "deprecated" in text and "弃用" in text
    task = _task("math/norm-dist")
    assert "vector_norm" in task.solution and ".norm(" not in task.solution


def test_atan2_reaches_minus_pi() -> None:
    """Claim 6: the range is [-pi, pi], -pi for a negative zero y."""
    assert torch.atan2(torch.tensor(-0.0), torch.tensor(-1.0)).item() == pytest.approx(-torch.pi)
    text = _text("math")
    assert "[-π, π]" in text and "(-π, π]" not in text


def test_dynamic_graph_does_not_claim_static_graphs_cannot() -> None:
    """Claim 7: en and zh agree that a static graph finds it hard, not impossible."""
    text = _text("autograd")
    assert "could not express" not in text and "很难表达" in text


def test_clone_keeps_strides_only_for_dense_layouts() -> None:
    """Claim 8: a transposed tensor clones transposed, a sliced one clones compact."""
    transposed = torch.zeros(4, 3).t()
    sliced = torch.zeros(3, 10)[:, ::2]
    assert transposed.clone().stride() == transposed.stride()
    assert sliced.stride() == (10, 2) and sliced.clone().stride() == (5, 1)
    assert "keeps x's strides" not in _text("storage")


def test_numpy_float64_is_only_the_default() -> None:
    """Claim 9: from_numpy keeps whatever dtype the array has."""
    import numpy as np

    assert torch.from_numpy(np.zeros(2, dtype=np.float32)).dtype == torch.float32
    assert "NumPy arrays are float64" not in _text("creation")


def test_storage_intro_agrees_that_advanced_indexing_copies() -> None:
    """Claim 10: basic indexing views, advanced indexing copies, in both lessons."""
    c = torch.arange(12).reshape(3, 4)
    home = c.untyped_storage().data_ptr()
    assert c[1:].untyped_storage().data_ptr() == home
    assert c[[1, 2]].untyped_storage().data_ptr() != home
    assert c[c > 3].untyped_storage().data_ptr() != home
    assert "dvanced" in _text("storage") and "高级索引" in _text("storage")


def test_median_mode_states_its_tie_rule() -> None:
    """Claim 11: the prompt says what happens on ties (any most frequent value counts)."""
    prompt = _task("math/median-mode").prompt
    assert "equally frequent" in prompt.get("en") and "一样多" in prompt.get("zh")


def test_corrections_list_the_dropped_seed_claims() -> None:
    """Claim 12: docs/corrections.md names every departure, the dated 56.10 claims included."""
    text = (ROOT / "docs" / "corrections.md").read_text(encoding="utf-8")
    for claim in ("implemented in Python", "choose TensorFlow", "cloud", "tensorboard", "Caffe2", "retain_graph"):
        assert claim in text, claim


# Device slips (issue 11, "wrong answers that pass"): on a CPU grader a tensor left on the CPU
# is on the right device; a GPU grader catches it, and so does each task's meta case on the CPU
# (tests/course_wrong_answers/: creation.yaml's to-device keeps x on the CPU there, `device` on meta).
DEVICE_SLIPS = {
    "creation/from-list": "import torch\ndef solve(values, device):\n    return torch.tensor(values)\n",
    "linalg/inverse": (
        "import torch\ndef solve(a):\n"
        "    return torch.inverse(a @ a.t() + torch.eye(a.shape[0], dtype=a.dtype))\n"
    ),
    "creation/to-device": "import torch\ndef solve(x, device):\n    return x.to(torch.float32)\n",
}


@pytest.mark.cuda
def test_device_slips_fail_on_a_gpu(tmp_path: Path) -> None:
    root = make_workspace(tmp_path, builtin_course(), DEVICE_SLIPS)
    _, data, stderr = grade_json(str(root), "--device", "cuda", "--seed", "11")
    assert "Traceback" not in stderr
    verdicts = {v["task"]: v for v in data[0]["tasks"]}
    for task in DEVICE_SLIPS:
        assert verdicts[task]["status"] != "passed", task


# A returned state_dict (issue 11): an OrderedDict travels as a mapping and compares with a dict
# by keys and values, whichever side returns which; a real difference is still named by key.
STATE_DICTS = """\
format: 1
id: sd
title: {en: State dicts, zh: 状态字典}
tasks:
  - id: ordered
    title: {en: The reference returns a state_dict, zh: 参考答案返回 state_dict}
    starter: |
      def solve(w):
          raise NotImplementedError
    solution: |
      import torch

      def solve(w):
          model = torch.nn.Linear(w.shape[1], w.shape[0])
          model.load_state_dict({"weight": w, "bias": torch.zeros(w.shape[0])})
          return model.state_dict()
    cases:
      - {w: {values: [[1.0, 2.0], [3.0, 4.0]]}}
  - id: plain
    title: {en: The reference returns a dict, zh: 参考答案返回 dict}
    starter: |
      def solve(w):
          raise NotImplementedError
    solution: |
      import torch

      def solve(w):
          return {"weight": w.clone(), "bias": torch.zeros(w.shape[0])}
    cases:
      - {w: {values: [[1.0, 2.0], [3.0, 4.0]]}}
"""


def test_a_state_dict_compares_with_a_dict_by_keys_and_values(tmp_path: Path) -> None:
    lesson = tmp_path / "sd.yaml"
    lesson.write_text(STATE_DICTS, encoding="utf-8")
    as_dict = "def solve(w):\n    return {'bias': w[:, 0] * 0, 'weight': w.clone()}\n"
    as_state_dict = ("import torch\ndef solve(w):\n    m = torch.nn.Linear(2, 2)\n"
                     "    m.load_state_dict({'weight': w, 'bias': torch.zeros(2)})\n    return m.state_dict()\n")
    wrong = as_state_dict.replace("'weight': w,", "'weight': w.t(),")
    roots = [str(make_workspace(tmp_path / name, lesson, {"sd/ordered": a, "sd/plain": b}))
             for name, a, b in (("right", as_dict, as_state_dict), ("wrong", wrong, wrong))]
    _, data, stderr = grade_json(*roots, "--seed", "1")
    assert "Traceback" not in stderr, stderr
    right, bad = ({v["task"]: v for v in w["tasks"]} for w in data)
    assert right["sd/ordered"]["status"] == right["sd/plain"]["status"] == "passed", right
    for task in ("sd/ordered", "sd/plain"):
        failed = [c for c in bad[task]["checks"] if not c["passed"]]
        assert [(c["name"], c["aspect"]) for c in failed] == [("result", "values")], failed
        assert failed[0]["message"].startswith("`result['weight']` differs from the expected value at index [0, 1]")


@pytest.mark.parametrize("task, answer", [("broadcasting/result-type", "result_type"),
                                          ("selecting/class-sums", "scatter_add_(")])
def test_hints_keep_the_answer_for_the_last_one(task: str, answer: str) -> None:
    """Hints go nudge, then API, then the answer (issue 11): the decisive call, here with its
    arguments, appears in the last hint only."""
    hints = _task(task).hints
    assert all(answer in hints[-1].get(lang) for lang in ("en", "zh"))
    assert not any(answer in hint.get(lang) for hint in hints[:-1] for lang in ("en", "zh")), task
