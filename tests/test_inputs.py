"""Inputs from value specs, the wire codec, and value comparison: the grader's own pieces."""

from __future__ import annotations

import pytest
import torch

from tutor.grading.compare import compare
from tutor.grading.inputs import build, make_cases
from tutor.jail import wire
from tutor.jail.frames import WireError
from tutor.pack.models import Task


def task(**fields: object) -> Task:
    base = {"id": "t", "title": "t", "starter": "def solve(x):\n    pass\n", "solution": "def solve(x):\n    return x\n"}
    return Task.model_validate({**base, **fields})


def test_layouts_keep_values_and_change_memory() -> None:
    spec = {"values": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]}
    plain = build(task(cases=[{"x": spec}]).cases[0].args["x"], {}, 0, "cpu")
    for layout in ("transposed", "sliced"):
        t = task(cases=[{"x": {**spec, "layout": layout}}])
        x = build(t.cases[0].args["x"], {}, 0, "cpu")
        assert torch.equal(x, plain) and not x.is_contiguous()
    sliced = build(task(cases=[{"x": {**spec, "layout": "sliced"}}]).cases[0].args["x"], {}, 0, "cpu")
    assert sliced.storage_offset() == 1


def test_fixed_cases_are_stable_and_hidden_cases_follow_the_seed() -> None:
    t = task(cases=[{"x": {"shape": ["n", 3]}}], random_cases=2, dims={"n": [1, 9]})
    a, b, c = (make_cases("l/t", t, seed, "cpu") for seed in (1, 1, 2))
    assert torch.equal(a[0].args["x"], c[0].args["x"])  # the fixed case ignores the run's seed
    assert all(torch.equal(x.args["x"], y.args["x"]) for x, y in zip(a, b))
    assert not all(x.args["x"].shape == y.args["x"].shape and torch.equal(x.args["x"], y.args["x"]) for x, y in zip(a[1:], c[1:]))
    assert [x.hidden for x in a] == [False, True, True]


def test_pinned_dims_and_dtypes_and_distributions() -> None:
    t = task(cases=[{"x": {"shape": ["n", 2], "dist": "int", "low": 5, "high": 7}, "dims": {"n": 4}}])
    x = make_cases("l/t", t, 0, "cpu")[0].args["x"]
    assert x.shape == (4, 2) and x.dtype == torch.int64 and set(x.unique().tolist()) <= {5, 6}
    b = build(task(cases=[{"x": {"shape": [3], "dist": "bool"}}]).cases[0].args["x"], {}, 0, "cpu")
    assert b.dtype == torch.bool


def test_integer_values_that_require_grad_become_floats() -> None:
    x = build(task(cases=[{"x": {"values": [1, 2], "requires_grad": True}}]).cases[0].args["x"], {}, 0, "cpu")
    assert x.dtype == torch.float32 and x.requires_grad and x.is_leaf
    with pytest.raises(ValueError):
        task(cases=[{"x": {"values": [1, 2], "dtype": "int64", "requires_grad": True}}])


def test_wire_keeps_views_and_refuses_lies() -> None:
    base = torch.arange(12.0).reshape(3, 4)
    doc, blob = wire.encode({"view": base.t(), "row": base[1], "base": base})
    out = wire.decode(doc, blob)
    assert out["view"].untyped_storage().data_ptr() == out["base"].untyped_storage().data_ptr()
    assert out["view"].stride() == (1, 4) and out["row"].storage_offset() == 4
    doc["tensors"][0]["shape"] = [100, 100]  # claims more than its storage holds
    with pytest.raises(WireError):
        wire.decode(doc, blob)
    with pytest.raises(WireError):
        wire.decode({"value": {"tensor": 0}, "tensors": [], "storages": []}, b"")


def test_compare_names_the_difference() -> None:
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    found = compare(expected, expected.t().contiguous(), "result", rtol_atol=None, device="cpu", hidden=False, lang="en")
    assert found and "[0, 1]" in found.message and found.aspect == "values"
    found = compare(expected, expected.double(), "result", rtol_atol=None, device="cpu", hidden=False, lang="en")
    assert found and "dtype" in found.message and found.aspect == "dtype" and found.got.dtype == torch.float64
    nan = torch.tensor([float("nan"), 1.0])
    assert compare(nan, nan.clone(), "result", rtol_atol=None, device="cpu", hidden=False, lang="en") is None
    assert compare(torch.device("cuda"), torch.device("cuda:0"), "d", rtol_atol=None, device="cpu", hidden=False, lang="en") is None
    assert compare((1, 2.0), [1, 2.0], "r", rtol_atol=None, device="cpu", hidden=False, lang="en") is not None
