"""The lesson format (``../shared/spec/lesson-format.md``) as pydantic models.

These models are the one definition of the format: loading, validation
messages and the published JSON Schema (``tutor lesson schema``) all come from
them. They never import torch, so ``tutor list`` and ``--help`` stay fast;
anything that needs torch to judge (does ``torch.sigmoid`` exist?) is checked
by ``tutor lesson validate`` instead.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    RootModel,
    StringConstraints,
    field_validator,
    Tag,
    model_validator,
)

from tutor.i18n import pick

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$")]
Symbol = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Dim = Union[int, Symbol]

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

    shape: list[Dim]
    dist: Literal["normal", "uniform", "int", "bool"] = "normal"
    low: float | None = None
    high: float | None = None

    @field_validator("shape")
    @classmethod
    def _dims_non_negative(cls, shape: list[Dim]) -> list[Dim]:
        for d in shape:
            if isinstance(d, int) and d < 0:
                raise ValueError("a dimension cannot be negative")
        return shape

    @model_validator(mode="after")
    def _bounds(self) -> RandomTensor:
        if self.dist in ("normal", "bool") and (self.low is not None or self.high is not None):
            raise ValueError(f"low/high apply to the uniform and int distributions, not {self.dist}")
        low, high = self.bounds()
        if self.dist in ("uniform", "int") and not low < high:
            raise ValueError(f"low ({low}) must be below high ({high})")
        if self.layout == "transposed" and len(self.shape) < 2:
            raise ValueError("layout: transposed needs at least two dimensions")
        if self.requires_grad and (self.dtype in _NOT_DIFFERENTIABLE or (self.dtype is None and self.dist in ("int", "bool"))):
            raise ValueError("an integer or bool tensor cannot require grad: use a floating dtype")
        return self

    def bounds(self) -> tuple[float, float]:
        default = (0, 10) if self.dist == "int" else (0, 1)
        low = default[0] if self.low is None else self.low
        high = default[1] if self.high is None else self.high
        return low, high

    def symbols(self) -> set[str]:
        return {d for d in self.shape if isinstance(d, str)}


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
    for key, kind in (("values", "TensorValues"), ("shape", "RandomTensor"), ("generator", "GeneratorValue")):
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
        Annotated[DeviceValue, Tag("DeviceValue")],
        Annotated[DtypeValue, Tag("DtypeValue")],
        Annotated[PinnedDims, Tag("PinnedDims")],
        Annotated[PlainValue, Tag("PlainValue")],
    ],
    Discriminator(
        _value_kind,
        custom_error_type="value_spec",
        custom_error_message="a mapping argument needs `values`, `shape`, `dtype`, `generator` or `device`",
    ),
]


def spec_symbols(value: Any) -> set[str]:
    return value.symbols() if isinstance(value, RandomTensor) else set()


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
                    f"{name}: a mapping argument needs `values`, `shape`, `dtype`, `generator` or `device`"
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


# ---------------------------------------------------------------- checks


class ResultOptions(Strict):
    strides: bool = False


class SourceOptions(Strict):
    max_lines: int | None = Field(None, ge=1)
    no_loops: bool = False
    forbid_names: list[str] = Field(default_factory=list)


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


def _custom(kind: str, options: Any) -> str:
    if not isinstance(options, str) or not re.fullmatch(
        r"checks(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*", options
    ):
        raise ValueError("a custom check is `checks.module:function` from the pack's checks/ folder")
    return options


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
}


class Tolerance(Strict):
    rtol: float = Field(ge=0)
    atol: float = Field(ge=0)


# ---------------------------------------------------------------- task, lesson, pack


class Task(Strict):
    id: Id
    title: Text
    prompt: Text = Field(default_factory=_empty_text)
    entry: Symbol = "solve"
    starter: str
    solution: str
    cases: list[Case] = Field(default_factory=list)
    random_cases: int = Field(0, ge=0, le=100)
    random_args: dict[str, ValueSpec] | None = None
    dims: dict[Symbol, tuple[int, int]] = Field(default_factory=dict)
    checks: list[CheckSpec] = Field(
        default_factory=lambda: [CheckSpec(kind="result"), CheckSpec(kind="mutation")]
    )
    tolerance: Tolerance | None = None
    hints: list[Text] = Field(default_factory=list)
    feedback: dict[str, Text] = Field(default_factory=dict)
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

    @model_validator(mode="after")
    def _consistent(self) -> Task:
        if not self.cases and not self.random_cases:
            raise ValueError("a task needs at least one case: `cases` or `random_cases`")
        if self.random_cases and self.random_template() is None:
            raise ValueError(
                "random_cases needs a template: `random_args`, or a fixed case with a `shape`"
            )
        used: set[str] = set()  # symbols that are drawn from a range somewhere
        for case in self.cases:
            used |= case.symbols() - set(case.pinned)
            unknown = set(case.pinned) - set(self.dims) - case.symbols()
            if unknown:
                raise ValueError(f"a case pins unknown dims: {', '.join(sorted(unknown))}")
        if self.random_cases:  # hidden cases draw every symbol of their template afresh
            for template in self.random_template() or []:
                for value in template.values():
                    used |= spec_symbols(value)
        missing = used - set(self.dims)
        if missing:
            raise ValueError(f"symbolic dims without a range in `dims`: {', '.join(sorted(missing))}")
        unknown_feedback = set(self.feedback) - {c.kind for c in self.checks}
        if unknown_feedback:
            raise ValueError(
                f"feedback for checks this task does not run: {', '.join(sorted(unknown_feedback))}"
            )
        return self

    def random_template(self) -> list[dict[str, Any]] | None:
        """The templates hidden cases are drawn from, per the format's rule."""
        if self.random_args is not None:
            return [self.random_args]
        templates = [case.args for case in self.cases if case.has_random()]
        return templates or None

    def check(self, kind: str) -> CheckSpec | None:
        return next((c for c in self.checks if c.kind == kind), None)


class Lesson(Strict):
    format: Literal[1]
    id: Id
    title: Text
    summary: Text = Field(default_factory=_empty_text)
    intro: Text = Field(default_factory=_empty_text)
    requires: list[Id] = Field(default_factory=list)
    tasks: list[Task] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_tasks(self) -> Lesson:
        seen: set[str] = set()
        for task in self.tasks:
            if task.id in seen:
                raise ValueError(f"task id {task.id!r} appears twice")
            seen.add(task.id)
        return self


class PackMeta(Strict):
    format: Literal[1]
    id: Id
    title: Text
    version: str
    lessons: list[str] | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        # `version: 1.0` in YAML is a float; the author meant the text.
        return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value
