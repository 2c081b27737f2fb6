"""The lesson format (``../shared/spec/lesson-format.md``) as pydantic models.

These models are the one definition of the format: loading, validation
messages and the published JSON Schema (``tutor lesson schema``) all come from
them. They never import torch, so ``tutor list`` and ``--help`` stay fast;
anything that needs torch to judge (does ``torch.sigmoid`` exist?) is checked
by ``tutor lesson validate`` instead.
"""

from __future__ import annotations

import itertools
import random
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    BeforeValidator,
    StringConstraints,
    field_validator,
    Tag,
    model_validator,
)

from pydantic_core import PydanticCustomError

from tutor.i18n import pick
from tutor.pack import dimexpr

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
SYMBOL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def located(message: str, *at: Any) -> PydanticCustomError:
    """An error a model validator raises about one of its children: ``at`` is the path below it.

    pydantic locates a model validator's error at the model itself; the loader
    (``_explain``) appends ``at`` so the message points at the node that caused it.
    """
    return PydanticCustomError("located", message, {"at": list(at)})


def _expression(value: Any, *, predicate: bool = False) -> str:
    """Check that ``value`` is a dims expression (``n + 1``); keep its text."""
    try:
        return dimexpr.parse(value, predicate=predicate).text
    except dimexpr.ExprError as exc:
        raise ValueError(str(exc)) from None


def _dim_entry(value: Any) -> Any:
    """A shape entry: an int, a dim name, or an expression of dims (``n + 1``)."""
    if isinstance(value, str) and not SYMBOL_RE.match(value):
        return _expression(value)
    return value


DimOrExpr = Annotated[Union[int, str], BeforeValidator(_dim_entry)]


def _number_or_expression(value: Any) -> Any:
    """``low``/``high``: a number, or a string that is a number or an expression of dims.

    YAML reads ``1e-3`` as a string (it wants ``1.0e-3``); such a string is the
    number the author meant. Any other string must be an expression of dims.
    """
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return dimexpr.parse(value).text
        except dimexpr.ExprError as exc:
            raise ValueError(f"expected a number here: {exc}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and value is not None:
        raise ValueError(f"expected a number or {dimexpr.ARITH_HELP}, not {value!r}")
    return value


Bound = Annotated[Union[float, str, None], BeforeValidator(_number_or_expression)]


def expr_symbols(value: Any) -> set[str]:
    """The dims a shape entry, bound or ``{dim: ...}`` text names (none for a number)."""
    if isinstance(value, str):
        return dimexpr.parse(value).symbols()
    return set()


def dim_value(value: int | float | str, dims: dict[str, int]) -> Any:
    """A shape entry or bound with the case's dims filled in."""
    return dimexpr.parse(value).value(dims) if isinstance(value, str) else value

FORMAT_VERSION = 1
DTYPES = (
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool",
    # Aliases torch accepts as attribute names.
    "half", "float", "double", "short", "int", "long", "cfloat", "cdouble",
)  # fmt: skip
DType = Literal[DTYPES]  # type: ignore[valid-type]
Device = Literal["cpu", "cuda"]


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a pack must not silently do nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(RootModel[Union[str, dict[str, str]]]):
    """A human-readable text: a plain string or ``{en: ..., zh: ...}``."""

    model_config = ConfigDict(frozen=True)

    @field_validator("root", mode="before")
    @classmethod
    def _shape(cls, value: Any) -> Any:
        if not isinstance(value, (str, dict)) or (
            isinstance(value, dict) and not all(isinstance(v, str) for v in value.values())
        ):
            raise ValueError("a text is a string or a mapping of languages, like {en: ..., zh: ...}")
        return value

    @field_validator("root")
    @classmethod
    def _non_empty(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        if isinstance(value, dict):
            if not value:
                raise ValueError("a text mapping needs at least one language")
            for lang in value:
                if not re.fullmatch(r"[a-z]{2,3}([-_][A-Za-z]{2,4})?", lang):
                    raise ValueError(f"{lang!r} is not a language code such as en or zh")
        return value

    def get(self, lang: str) -> str:
        return pick(self.root, lang)

    def languages(self) -> set[str]:
        return set() if isinstance(self.root, str) else set(self.root)


def _empty_text() -> Text:
    return Text("")


# ---------------------------------------------------------------- value specs


class TensorBase(Strict):
    dtype: DType | None = None
    requires_grad: bool = False
    layout: Literal["contiguous", "transposed", "sliced"] = "contiguous"
    device: Literal["grading", "cpu"] = Field(
        "grading",
        description="where the tensor lives: the grading device (default) or always the CPU",
    )


_NOT_DIFFERENTIABLE = {"uint8", "int8", "int16", "int32", "int64", "bool", "short", "int", "long"}


class TensorValues(TensorBase):
    """``{values: [[1, 2], [3, 4]], dtype: float64}``: that exact tensor."""

    values: Any

    @model_validator(mode="after")
    def _grad_needs_floats(self) -> TensorValues:
        if self.requires_grad and self.dtype in _NOT_DIFFERENTIABLE:
            raise ValueError(f"a {self.dtype} tensor cannot require grad: use a floating dtype")
        return self

    @field_validator("values")
    @classmethod
    def _nested_numbers(cls, value: Any) -> Any:
        def walk(v: Any) -> None:
            if isinstance(v, list):
                for item in v:
                    walk(item)
            elif not isinstance(v, (bool, int, float)):
                raise ValueError(f"tensor values must be numbers or nested lists, not {v!r}")

        walk(value)
        return value


class RandomTensor(TensorBase):
    """``{shape: [3, n], dist: normal}``: a random tensor drawn from the case's seed."""

    shape: list[DimOrExpr]
    dist: Literal["normal", "uniform", "int", "bool"] = "normal"
    low: Bound = None
    high: Bound = None
    sorted: bool = Field(False, description="sort the values along the last dimension, ascending")
    unique: bool = Field(False, description="no value appears twice in the tensor")

    @field_validator("shape")
    @classmethod
    def _dims_non_negative(cls, shape: list[Any]) -> list[Any]:
        for d in shape:
            if isinstance(d, int) and d < 0:
                raise ValueError("a dimension cannot be negative")
        return shape

    @model_validator(mode="after")
    def _bounds(self) -> RandomTensor:
        if self.dist in ("normal", "bool") and (self.low is not None or self.high is not None):
            raise ValueError(f"low/high apply to the uniform and int distributions, not {self.dist}")
        low, high = self.bounds()
        if self.dist in ("uniform", "int") and not isinstance(low, str) and not isinstance(high, str) and not low < high:
            raise ValueError(f"low ({low}) must be below high ({high})")
        if self.layout == "transposed" and len(self.shape) < 2:
            raise ValueError("layout: transposed needs at least two dimensions")
        if self.requires_grad and (self.dtype in _NOT_DIFFERENTIABLE or (self.dtype is None and self.dist in ("int", "bool"))):
            raise ValueError("an integer or bool tensor cannot require grad: use a floating dtype")
        if self.sorted and self.dist == "bool":
            raise ValueError("sorted applies to numbers, not to dist: bool")
        return self

    def bounds(self) -> tuple[float | str, float | str]:
        """(low, high) as written or by default; a bound may be an expression of dims."""
        default = (0, 10) if self.dist == "int" else (0, 1)
        low = default[0] if self.low is None else self.low
        high = default[1] if self.high is None else self.high
        return low, high

    def symbols(self) -> set[str]:
        names: set[str] = set()
        for part in (*self.shape, self.low, self.high):
            names |= expr_symbols(part)
        return names


class DimValue(Strict):
    """``{dim: n}`` (or ``{dim: n + 1}``): the int value of a dim, or of an expression of dims, in that case."""

    dim: str

    @field_validator("dim", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"`dim` names a dim or an expression of dims, e.g. {{dim: n}}; not {value!r}")
        return _expression(value)

    def symbols(self) -> set[str]:
        return expr_symbols(self.dim)


class DtypeValue(Strict):
    """``{dtype: float64}`` alone: the ``torch.dtype`` itself."""

    dtype: DType


class GeneratorValue(Strict):
    """``{generator: 42}``: a seeded ``torch.Generator`` on the grading device."""

    generator: int


class DeviceValue(Strict):
    """``{device: grading}``: the ``torch.device`` the task is graded on."""

    device: Literal["grading"]


Scalar = Union[bool, int, float, str, None]
PlainValue = Union[Scalar, list[Any]]


class PinnedDims(RootModel[dict[Symbol, int]]):
    """A case's ``dims: {n: 3}``: fixes symbolic dimensions for that case."""

    model_config = ConfigDict(frozen=True)


def _value_kind(raw: Any) -> str:
    """Pick a value spec's model by the keys it has.

    Choosing by keys (rather than letting pydantic try every model of a union)
    gives one precise error, located at the offending key, instead of a wall of
    "did not match" lines.
    """
    if isinstance(raw, BaseModel | RootModel):
        return type(raw).__name__
    if not isinstance(raw, dict):
        return "PlainValue"
    keys = set(raw)
    for key, kind in (("values", "TensorValues"), ("shape", "RandomTensor"), ("generator", "GeneratorValue"), ("dim", "DimValue")):
        if key in keys:
            return kind
    if keys == {"device"}:
        return "DeviceValue"
    if keys == {"dtype"}:
        return "DtypeValue"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values()):
        return "PinnedDims"  # `dims: {n: 3}` (or `{}`); the case allows it only under `dims`
    return "unknown"


ValueSpec = Annotated[
    Union[
        Annotated[TensorValues, Tag("TensorValues")],
        Annotated[RandomTensor, Tag("RandomTensor")],
        Annotated[GeneratorValue, Tag("GeneratorValue")],
        Annotated[DimValue, Tag("DimValue")],
        Annotated[DeviceValue, Tag("DeviceValue")],
        Annotated[DtypeValue, Tag("DtypeValue")],
        Annotated[PinnedDims, Tag("PinnedDims")],
        Annotated[PlainValue, Tag("PlainValue")],
    ],
    Discriminator(
        _value_kind,
        custom_error_type="value_spec",
        custom_error_message="a mapping argument needs `values`, `shape`, `dtype`, `generator`, `device` or `dim`",
    ),
]


def spec_symbols(value: Any) -> set[str]:
    return value.symbols() if isinstance(value, (RandomTensor, DimValue)) else set()


def is_random(value: Any) -> bool:
    return isinstance(value, RandomTensor)


class Case(RootModel[dict[str, ValueSpec]]):
    """A case: the entry's parameters mapped to value specs, plus optional pinned ``dims``."""

    model_config = ConfigDict(frozen=True)

    @model_validator(mode="after")
    def _dims_only_under_dims(self) -> Case:
        for name, value in self.root.items():
            if (name == "dims") != isinstance(value, PinnedDims):
                if name == "dims":
                    raise ValueError("`dims` in a case pins symbols to integers, e.g. {n: 3}")
                raise ValueError(
                    f"{name}: a mapping argument needs `values`, `shape`, `dtype`, `generator`, `device` or `dim`"
                )
        return self

    @property
    def args(self) -> dict[str, Any]:
        return {k: v for k, v in self.root.items() if k != "dims"}

    @property
    def pinned(self) -> dict[str, int]:
        dims = self.root.get("dims")
        return dict(dims.root) if isinstance(dims, PinnedDims) else {}

    def symbols(self) -> set[str]:
        return set().union(*(spec_symbols(v) for v in self.args.values()))

    def has_random(self) -> bool:
        return any(is_random(v) for v in self.args.values())

    def plain_numbers(self) -> list[str]:
        """Arguments written as plain numbers: they cannot follow a dim that is redrawn."""
        return [k for k, v in self.args.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]


@dataclass(frozen=True)
class Template:
    """What hidden cases are drawn from: arguments, and the pins they keep (see ``Task.hidden_templates``)."""

    args: dict[str, Any]
    pinned: dict[str, int]
    source: tuple[Any, ...]  # where it is written in the task: ("random_args",) or ("cases", i)


# ---------------------------------------------------------------- checks


class ResultOptions(Strict):
    strides: bool = False
    scalar_or_tensor: bool = Field(
        False,
        description="a 0-d tensor and a Python number are interchangeable wherever the reference returns one"
        " (compared by value, within the tensor's dtype tolerance)",
    )


class GradcheckOptions(Strict):
    """``{gradcheck: {...}}``: ``torch.autograd.gradcheck`` on the learner's entry, in float64, in the sandbox
    (``checks/gradcheck.py``), for tasks whose learner writes a custom ``torch.autograd.Function``."""

    inputs: list[Symbol] | None = Field(
        None, description="the tensor arguments differentiated (default: every floating-point tensor argument)")
    eps: float = Field(1e-6, gt=0, le=0.1, description="the finite-difference step")
    atol: float = Field(1e-5, ge=0, description="absolute tolerance between analytical and numerical gradients")
    rtol: float = Field(1e-3, ge=0, description="relative tolerance between analytical and numerical gradients")
    skip_cases: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list,
        description="cases (numbered from 1, fixed cases first, then hidden ones) not gradchecked, such as a point"
        " on a kink, where finite differences mean nothing; grade the subgradient there with `backward`",
    )
    custom_function: bool = Field(True, description="the result must come from a custom torch.autograd.Function")

    def misfit(self, task: Task) -> tuple[str, str] | None:
        """(why, which option) when these options cannot apply to ``task``'s cases, else None."""
        total = len(task.cases) + task.random_cases
        late = [n for n in self.skip_cases if n > total]
        if late:
            return f"skip_cases: the task has {total} case(s), not {late[0]}", "skip_cases"
        templates = [c.args for c in task.cases] + ([task.random_args] if task.random_args else [])
        for name in self.inputs or ():
            for args in templates:
                if name not in args:
                    return f"inputs: `{name}` is not an argument of the task's cases", "inputs"
                if not isinstance(args[name], (TensorValues, RandomTensor)):
                    return f"inputs: `{name}` is not a tensor argument", "inputs"
        return None


class SourceOptions(Strict):
    """Rules on the learner's source, read not run. ``scope: entry`` (the default) is the
    entry function and everything it can reach in the file; ``scope: file`` is every line."""

    max_lines: int | None = Field(None, ge=1)
    max_columns: int | None = Field(None, ge=1)
    no_loops: bool = False
    forbid_names: list[str] = Field(default_factory=list)
    scope: Literal["entry", "file"] = "entry"


class CheckSpec(Strict):
    """A check as written (``result`` or ``{forbid: [...]}``), normalised to kind + options."""

    kind: str
    options: Any = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return {"kind": raw, "options": None}
        if isinstance(raw, dict) and set(raw) <= {"kind", "options"} and "kind" in raw:
            return raw
        if isinstance(raw, dict) and len(raw) == 1:
            ((kind, options),) = raw.items()
            return {"kind": kind, "options": options}
        raise ValueError("a check is a name (`result`) or a one-key mapping (`{forbid: [...]}`)")

    @model_validator(mode="after")
    def _options_fit_kind(self) -> CheckSpec:
        parse = CHECK_OPTIONS.get(self.kind)
        if parse is None:
            raise ValueError(
                f"unknown check {self.kind!r}; known: {', '.join(sorted(CHECK_OPTIONS))}"
            )
        object.__setattr__(self, "options", parse(self.kind, self.options))
        return self

    @property
    def name(self) -> str:
        return self.kind


Limit = Annotated[Union[int, str], BeforeValidator(lambda v: _limit(v))]


def _limit(value: Any) -> Any:
    """A count (FLOPs, bytes): a non-negative integer, or an expression of the task's dims."""
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise ValueError(f"expected {dimexpr.ARITH_HELP}, not {value!r}")
    if isinstance(value, float):
        value = int(value)
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a limit cannot be negative")
        return value
    if isinstance(value, str):
        return _expression(value)
    raise ValueError(f"expected {dimexpr.ARITH_HELP}, not {value!r}")


def _efficiency(options: Any) -> EfficiencyOptions:
    if not isinstance(options, (dict, EfficiencyOptions)):
        raise ValueError("efficiency takes a mapping of limits, e.g. {efficiency: {max_alloc_bytes: 8 * n, credit: 0.5}}"
                         " (max_flops, max_alloc_bytes, relative_to_reference, credit)")
    return EfficiencyOptions.model_validate(options)


class EfficiencyOptions(Strict):
    """``{efficiency: {max_flops: ..., max_alloc_bytes: ..., relative_to_reference: 2.0, credit: 0.5}}``.

    Measured around the entry call on each case (``tutor.jail.efficiency``). A
    limit that names dims is filled in with the case's dims and is judged only
    on cases whose sizes come from dims (a case written as plain values has none).
    """

    max_flops: Limit | None = Field(
        None, description="most FLOPs the entry call may take on a case: a number or an expression of dims (`2 * n * n * d`)"
    )
    max_alloc_bytes: Limit | None = Field(
        None, description="most bytes of fresh tensor memory the entry call may allocate on a case (views allocate none)"
    )
    relative_to_reference: float | None = Field(
        None, description="most FLOPs and bytes as a multiple of the reference's on the same case (at least 1)"
    )
    credit: float = Field(
        0, ge=0, le=1,
        description="share of the task's points a correct answer earns when only this check fails (0: none)",
    )

    @field_validator("relative_to_reference")
    @classmethod
    def _at_least_one(cls, value: float | None) -> float | None:
        if value is not None and not value >= 1:
            raise ValueError(f"relative_to_reference is a multiple of the reference's figures, at least 1 (not {value:g}):"
                             " the reference must meet its own limit")
        return value

    @model_validator(mode="after")
    def _some_limit(self) -> EfficiencyOptions:
        if self.max_flops is None and self.max_alloc_bytes is None and self.relative_to_reference is None:
            raise ValueError("efficiency needs a limit: max_flops, max_alloc_bytes or relative_to_reference")
        return self

    def expressions(self) -> dict[str, str]:
        """The limits written as expressions of dims, by field name."""
        return {k: v for k, v in (("max_flops", self.max_flops), ("max_alloc_bytes", self.max_alloc_bytes))
                if isinstance(v, str)}


def _no_options(kind: str, options: Any) -> None:
    if options not in (None, {}, True):
        raise ValueError(f"check {kind!r} takes no options")
    return None


def _name_list(kind: str, options: Any) -> list[str]:
    if (
        not isinstance(options, list)
        or not options
        or not all(isinstance(o, str) and o for o in options)
    ):
        raise ValueError(f"check {kind!r} takes a non-empty list of names, e.g. {{{kind}: [x]}}")
    return list(options)


CUSTOM_TARGET = r"^checks(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*$"


class CustomOptions(Strict):
    """``{custom: {check: checks.mine:fn, options: {...}, scope: task, rule: true}}``.

    ``{custom: checks.mine:fn}`` is the short form of ``{check: checks.mine:fn}``.
    """

    check: Annotated[str, StringConstraints(pattern=CUSTOM_TARGET)] = Field(
        description="checks.module:function in the pack's checks/ folder"
    )
    options: Any = Field(None, description="passed to the function as its second argument")
    scope: Literal["case", "task"] = Field(
        "case", description="case: run on every case; task: run once per task (on the learner's source), reported once"
    )
    rule: bool = Field(
        False,
        description="a rule on how the learner solves it (like forbid or source): the reference is not held to it;"
        " validation only warns when the reference breaks it",
    )


def _custom(kind: str, options: Any) -> CustomOptions:
    if isinstance(options, str):
        options = {"check": options}
    if isinstance(options, dict) and isinstance(options.get("check"), str) and not re.fullmatch(CUSTOM_TARGET, options["check"]):
        raise ValueError("a custom check is `checks.module:function` from the pack's checks/ folder")
    if not isinstance(options, (dict, CustomOptions)):
        raise ValueError("a custom check is `checks.module:function` from the pack's checks/ folder,"
                         " or {check: checks.module:function, options: ..., scope: case|task, rule: true|false}")
    return CustomOptions.model_validate(options)


CHECK_OPTIONS: dict[str, Any] = {
    "result": lambda k, o: ResultOptions.model_validate(o or {}),
    "aliasing": _no_options,
    "mutation": _no_options,
    "input_grads": _name_list,
    "backward": _name_list,
    "forbid": _name_list,
    "require": _name_list,
    "source": lambda k, o: SourceOptions.model_validate(o or {}),
    "custom": _custom,
    "gradcheck": lambda k, o: GradcheckOptions.model_validate(o or {}),
    "predict": _no_options,
    "efficiency": lambda k, o: _efficiency(o),
}


DEFAULT_CHECKS = ("result", "mutation")


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)


# ---------------------------------------------------------------- task, lesson, pack


SATISFY_LIMIT = 200_000  # dims combinations tried when checking constraints can be met
DRAW_ATTEMPTS = 1000


class PredictSpec(Strict):
    """``predict: {snippet: ..., tries: 3}``: the learner predicts what the snippet gives.

    The snippet is instructor code run in the sandbox on the task's one fixed
    case (its parameters are the case's names); the task's ``solution`` is the
    right prediction file, checked against the snippet by validation.
    """

    snippet: str = Field(description="the code shown to the learner; its inputs are the fixed case's names")
    tries: int = Field(
        3, ge=1, le=100,
        description="distinct wrong predictions before the real answers are shown (a cooldown against guessing)",
    )


class Task(Strict):
    id: Id
    title: Text
    prompt: Text = Field(default_factory=_empty_text)
    entry: Symbol = "solve"
    starter: str = Field("", description="the learner's file starts as this (a predict task makes its own when omitted)")
    solution: str
    cases: list[Case] = Field(default_factory=list)
    random_cases: int = Field(0, ge=0, le=100)
    random_args: dict[str, ValueSpec] | None = None
    dims: dict[Symbol, tuple[int, int]] = Field(default_factory=dict)
    distinct_dims: list[Symbol] = Field(
        default_factory=list, description="these dims never draw the same value (e.g. [n, m] for a non-square matrix)"
    )
    where: list[str] = Field(
        default_factory=list,
        description="conditions the drawn dims must meet, e.g. `n <= m` or [n != m, m < 2 * n]",
    )
    checks: list[CheckSpec] = Field(default_factory=lambda: [CheckSpec(kind=k) for k in DEFAULT_CHECKS])
    tolerance: Tolerance | None = None
    hints: list[Text] = Field(default_factory=list)
    feedback: dict[str, Text] = Field(
        default_factory=dict,
        description="text shown when a check fails, keyed by check (`result`) or by check and aspect"
        " (`result.shape`, `aliasing.copy-where-view`); the most specific key that matches is shown",
    )
    points: float = Field(1, ge=0)
    partial: bool = False
    devices: list[Device] = Field(default_factory=lambda: ["cpu", "cuda"], min_length=1)
    timeout: float = Field(10, gt=0, le=600)
    memory_mb: int = Field(2048, ge=64)
    # Extensions of format 1.
    summary: Text = Field(
        default_factory=_empty_text, description="what the learner takes away; shown on a pass"
    )
    allow_internals: bool = Field(
        False,
        description="let the learner's code reach torch internals (torch._C, gc, frames, ...);"
        " such code is otherwise refused",
    )
    meta_case: bool = Field(
        False,
        description="add a hidden case: the first case's inputs on the `meta` device, so results must follow"
        " their inputs' device (a tensor made without `device=` fails) even on a grader without a GPU",
    )
    predict: PredictSpec | None = Field(
        None,
        description="a predict task: the learner writes `prediction = {...}` for named values of this snippet"
        " (shape, dtype, is_view, shares_storage_with, grad, value); its checks are [predict]",
    )

    @model_validator(mode="before")
    @classmethod
    def _predict_checks(cls, raw: Any) -> Any:
        """A predict task is judged by its prediction: its checks default to [predict]."""
        if isinstance(raw, dict) and "predict" in raw and "checks" not in raw:
            return {**raw, "checks": ["predict"]}
        return raw

    @field_validator("dims", mode="before")
    @classmethod
    def _dim_ranges(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            raise ValueError("dims maps symbols to [low, high] ranges, e.g. {n: [1, 6]}")
        for symbol, bounds in raw.items():
            if (
                not isinstance(bounds, list)
                or len(bounds) != 2
                or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
                or not 0 <= bounds[0] <= bounds[1]
            ):
                raise ValueError(f"dims: {symbol} needs [low, high] with 0 <= low <= high")
        return raw

    @field_validator("where", mode="before")
    @classmethod
    def _predicates(cls, raw: Any) -> Any:
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list):
            raise ValueError(f"where is a condition on dims or a list of them: {dimexpr.PREDICATE_HELP}")
        return [_expression(item, predicate=True) for item in items]

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        self._predict_fits()
        if not self.cases and not self.random_cases:
            raise ValueError("a task needs at least one case: `cases` or `random_cases`")
        if self.random_cases and self.random_template() is None:
            raise ValueError(
                "random_cases needs a template: `random_args`, or a fixed case with a `shape`"
            )
        self._dims_as_values()
        for name in self.distinct_dims:
            if name not in self.dims:
                raise located(f"distinct_dims: {name} has no range in `dims`", "distinct_dims")
        for i, text in enumerate(self.where):
            unknown = dimexpr.parse(text, predicate=True).symbols() - set(self.dims)
            if unknown:
                raise located(f"where: {', '.join(sorted(unknown))} has no range in `dims`", "where", i)
        for i, case in enumerate(self.cases):
            missing = case.symbols() - set(case.pinned) - set(self.dims)
            if missing:
                raise located(f"symbolic dims without a range in `dims`: {', '.join(sorted(missing))}"
                              " (give each a range in the task's `dims`, or pin it in this case's `dims`)", "cases", i)
            unknown = set(case.pinned) - set(self.dims) - case.symbols()
            if unknown:
                raise located(f"a case pins unknown dims: {', '.join(sorted(unknown))}", "cases", i, "dims")
            broken = self._broken_constraint(case.pinned)
            if broken:
                raise located(f"the pinned dims break the task's constraint {broken}", "cases", i, "dims")
        if self.random_cases:  # hidden cases draw every symbol of their template afresh
            for template in self.hidden_templates():
                missing = set().union(*(spec_symbols(v) for v in template.args.values())) - set(self.dims) - set(template.pinned)
                if missing:
                    raise located(f"symbolic dims without a range in `dims`: {', '.join(sorted(missing))}"
                                  " (hidden cases draw them afresh from their range)", *template.source)
        if (self.distinct_dims or self.where) and not self._satisfiable():
            raise located("no dims within their ranges meet distinct_dims and where", "where" if self.where else "distinct_dims")
        for i, spec in enumerate(self.checks):
            misfit = spec.options.misfit(self) if spec.kind == "gradcheck" else None
            if misfit:
                raise located(misfit[0], "checks", i, "gradcheck", misfit[1])
        for i, check in enumerate(self.checks):
            if check.kind == "efficiency":
                self._efficiency_judged(check.options, i)
        unknown_feedback = {key for key in self.feedback if key.split(".", 1)[0] not in {c.kind for c in self.checks}}
        if unknown_feedback:
            raise ValueError(
                f"feedback for checks this task does not run: {', '.join(sorted(unknown_feedback))}"
            )
        return self

    def _predict_fits(self) -> None:
        """What a predict task needs (its files are read by ``tutor.pack.prediction`` when the pack loads)."""
        kinds = [c.kind for c in self.checks]
        if self.predict is None:
            if "starter" not in self.model_fields_set:
                raise located("missing required field `starter`", "starter")
            if "predict" in kinds:
                raise located("the `predict` check needs a `predict:` block with the snippet", "checks", kinds.index("predict"))
            return
        if kinds != ["predict"]:
            raise located("a predict task is judged by its prediction alone: its checks are [predict]", "checks")
        if len(self.cases) != 1 or self.random_cases:
            raise located("a predict task runs its snippet on exactly one fixed case (the learner predicts for those"
                          " inputs), and no random_cases", "cases" if len(self.cases) != 1 else "random_cases")

    def _efficiency_judged(self, options: EfficiencyOptions, index: int) -> None:
        """Limits written with dims name dims of the task, and some case is sized by dims (else they never hold)."""
        expressions = options.expressions()
        for name, text in expressions.items():
            unknown = dimexpr.parse(text).symbols() - set(self.dims)
            if unknown:
                raise located(f"efficiency: {name} names {', '.join(sorted(unknown))}, which has no range"
                              " in `dims`", "checks", index, "efficiency", name)
        sized = any(case.symbols() for case in self.cases) or bool(self.random_cases) and any(
            spec_symbols(v) for t in self.hidden_templates() for v in t.args.values())
        judged_anyway = options.relative_to_reference is not None or any(
            isinstance(v, int) for v in (options.max_flops, options.max_alloc_bytes))
        if expressions and not sized and not judged_anyway:
            name = next(iter(expressions))
            raise located(f"efficiency: {name} is an expression of dims, but no case of this task is sized by dims"
                          " (all are written as values), so it would never be judged: give a case a `shape`", "checks",
                          index, "efficiency", name)

    def _dims_as_values(self) -> None:
        """An argument written as a bare dim name (``i: n``) is that dim's value, as ``{dim: n}`` is."""
        for case in self.cases:
            names = set(self.dims) | set(case.pinned)
            for key, value in list(case.root.items()):
                if key != "dims" and isinstance(value, str) and value in names:
                    case.root[key] = DimValue(dim=value)
        if self.random_args is not None:
            for key, value in list(self.random_args.items()):
                if isinstance(value, str) and value in self.dims:
                    self.random_args[key] = DimValue(dim=value)

    def constraints_hold(self, dims: dict[str, int]) -> bool:
        """Whether drawn dims meet ``distinct_dims`` and ``where``."""
        return self._broken_constraint(dims, partial=False) is None

    def _broken_constraint(self, dims: dict[str, int], *, partial: bool = True) -> str | None:
        """The first constraint these dims break (with ``partial``, only those whose dims are all given)."""
        chosen = [dims[n] for n in self.distinct_dims if n in dims]
        if len(set(chosen)) != len(chosen):
            return f"distinct_dims: [{', '.join(self.distinct_dims)}]"
        for text in self.where:
            expr = dimexpr.parse(text, predicate=True)
            if partial and not expr.symbols() <= set(dims):
                continue
            if not expr.value(dims):
                return f"where: {text}"
        return None

    def _satisfiable(self) -> bool:
        """Some dims within their ranges meet the constraints (checked exhaustively when small)."""
        names = sorted(set(self.distinct_dims) | set().union(*(dimexpr.parse(t, predicate=True).symbols() for t in self.where)))
        ranges = [range(self.dims[n][0], self.dims[n][1] + 1) for n in names]
        size = 1
        for r in ranges:
            size *= len(r)
        if size > SATISFY_LIMIT:
            return True  # too many to try: drawing reports it if no draw succeeds
        return any(self.constraints_hold(dict(zip(names, values))) for values in itertools.product(*ranges))

    def draw_dims(self, pinned: dict[str, int], seed: int) -> dict[str, int]:
        """Every dim of the task: pinned ones as given, the others drawn from their ranges and constraints."""
        rng = random.Random(seed)
        for _ in range(DRAW_ATTEMPTS):
            dims = {name: rng.randint(low, high) for name, (low, high) in sorted(self.dims.items())}
            dims.update(pinned)
            if self.constraints_hold(dims):
                return dims
        raise ValueError("no dims within their ranges met distinct_dims and where after "
                         f"{DRAW_ATTEMPTS} draws; widen the ranges")

    def hidden_templates(self) -> list[Template]:
        """What hidden cases are drawn from, per the format's rule.

        A fixed case used as a template keeps its pinned dims when it also has
        arguments written as plain numbers (``i: 7`` beside ``dims: {n: 7}``):
        those numbers were written for the pinned sizes, so redrawing the dims
        would break the case. Otherwise pinned dims are redrawn, as the format says.
        Write ``i: {dim: n}`` (or ``i: n``) to let both follow the draw.
        """
        if self.random_args is not None:
            return [Template(self.random_args, {}, ("random_args",))]
        return [
            Template(case.args, case.pinned if case.plain_numbers() else {}, ("cases", i))
            for i, case in enumerate(self.cases)
            if case.has_random()
        ]

    def random_template(self) -> list[dict[str, Any]] | None:
        """The arguments of the templates hidden cases are drawn from (None: there is none)."""
        templates = [t.args for t in self.hidden_templates()]
        return templates or None

    def check(self, kind: str) -> CheckSpec | None:
        return next((c for c in self.checks if c.kind == kind), None)


_NAME_LIST_KINDS = ("input_grads", "backward", "forbid", "require")


def merge_checks(own: list[CheckSpec], defaults: list[CheckSpec]) -> list[CheckSpec]:
    """A task's checks with its lesson's ``default_checks`` merged in.

    The task's own checks keep their order (and so their place in error
    messages); a default of a kind the task also has is folded into it (name
    lists are joined, options the task sets win); other defaults follow.
    """
    merged = list(own)
    for default in defaults:
        i = next((i for i, c in enumerate(merged) if _same_check(c, default)), None)
        if i is None:
            merged.append(default)
            continue
        mine = merged[i]
        if mine.kind in _NAME_LIST_KINDS:
            options: Any = list(dict.fromkeys([*default.options, *mine.options]))
        elif isinstance(mine.options, BaseModel) and not isinstance(mine.options, CustomOptions):
            options = {**default.options.model_dump(), **mine.options.model_dump(exclude_unset=True)}
        else:
            options = mine.options
        merged[i] = CheckSpec(kind=mine.kind, options=options.model_dump() if isinstance(options, CustomOptions) else options)
    return merged


def _same_check(a: CheckSpec, b: CheckSpec) -> bool:
    if a.kind != b.kind:
        return False
    return a.kind != "custom" or a.options.check == b.options.check


class Lesson(Strict):
    format: Literal[1]
    id: Id
    title: Text
    summary: Text = Field(default_factory=_empty_text)
    intro: Text = Field(default_factory=_empty_text)
    requires: list[Id] = Field(default_factory=list)
    tasks: list[Task] = Field(min_length=1)
    # Extensions of format 1.
    default_checks: list[CheckSpec] = Field(
        default_factory=list,
        description="checks every task of the lesson runs, merged with the task's own"
        " (name lists joined, the task's options win)",
    )
    preamble: str = Field(
        "",
        description="helper code for every task of the lesson (after the pack's preamble): shown read-only"
        " at the top of each starter, defined before the learner's code and the reference run",
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_default_checks(cls, raw: Any) -> Any:
        """Fold ``default_checks`` into each task's checks before the tasks are validated.

        Done on the data, before validation, so a task's ``feedback`` may name a
        check that comes from the lesson. A broken default (or task) check is
        left alone here: its own validation reports it where it is written.
        """
        if not isinstance(raw, dict) or not isinstance(raw.get("default_checks"), list) or not isinstance(raw.get("tasks"), list):
            return raw
        try:
            defaults = [CheckSpec.model_validate(c) for c in raw["default_checks"]]
        except ValueError:
            return raw
        tasks = []
        for task in raw["tasks"]:
            if isinstance(task, dict) and "predict" not in task:  # a predict task is judged by its prediction alone
                own = task.get("checks", list(DEFAULT_CHECKS))
                try:
                    specs = [CheckSpec.model_validate(c) for c in own] if isinstance(own, list) else None
                except ValueError:
                    specs = None
                if specs is not None:
                    task = {**task, "checks": merge_checks(specs, defaults)}
            tasks.append(task)
        return {**raw, "tasks": tasks}

    @model_validator(mode="after")
    def _unique_tasks(self) -> Lesson:
        seen: set[str] = set()
        for i, task in enumerate(self.tasks):
            if task.id in seen:
                raise located(f"task id {task.id!r} appears twice in the lesson", "tasks", i, "id")
            seen.add(task.id)
        return self


class PackMeta(Strict):
    format: Literal[1]
    id: Id
    title: Text
    version: str
    lessons: list[str] | None = None
    # Extensions of format 1.
    preamble: str = Field(
        "",
        description="helper code for every task of the pack: shown read-only at the top of each starter,"
        " defined before the learner's code and the reference run",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # `version: 1.0` in YAML is a float; the author meant the text.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
