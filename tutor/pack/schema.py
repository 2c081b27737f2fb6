"""The JSON Schema of lesson and pack files (``tutor lesson schema``), for editors and CI.

It is generated from the same pydantic models that load packs
(``tutor.pack.models``), in validation mode, then corrected where the models
validate with Python code that pydantic cannot describe in JSON Schema:

- a **value spec** (an argument of a case) is chosen by its keys in
  ``_value_kind``; pydantic describes that discriminator as a plain ``oneOf``
  in which ``{generator: 42}`` also matches "pinned dims" (so it would match
  twice and fail). Here each branch is told apart by its keys, and pinned
  dims are allowed only under a case's ``dims`` key, as the model requires;
- a **check** is written ``result`` or ``{forbid: [...]}``; the model turns
  that into ``{kind, options}`` before validating, so its own schema describes
  the internal shape. Here every check kind gets its written form and its
  options;
- **texts** need at least one language and language-code keys; **tensor
  values** are nested lists of numbers; **dims** ranges are non-negative;
  a task needs ``cases`` or ``random_cases``; ``version`` may be a YAML number.

Checks that need more than one field's value (``low < high``, feedback only
for checks the task runs, the solution defines the entry) stay with
``tutor lesson validate``, which reports them with file, line and column.
The schema is JSON Schema draft 2020-12.
"""

from __future__ import annotations

import copy
from typing import Any

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_ID = "https://github.com/torch-tutor/tutor/schemas/format-1"

_SYMBOL = r"^[A-Za-z_][A-Za-z0-9_]*$"
_LANG = r"^[a-z]{2,3}([-_][A-Za-z]{2,4})?$"
_VALUE_BRANCHES = ("TensorValues", "RandomTensor", "GeneratorValue", "DimValue", "DeviceValue", "DtypeValue", "PinnedDims")


class SchemaDrift(RuntimeError):
    """The models changed shape in a way this module does not know how to correct."""


def lesson_schema() -> dict[str, Any]:
    """The JSON Schema of one lesson file."""
    from tutor.pack.models import Lesson

    schema = _fix(Lesson.model_json_schema(mode="validation"))
    return _header(schema, "lesson", "tutor lesson file (format 1)", "One lesson of a tutor pack: its texts and tasks.")


def pack_schema() -> dict[str, Any]:
    """The JSON Schema of a pack's ``pack.yaml``."""
    from tutor.pack.models import PackMeta

    schema = copy.deepcopy(PackMeta.model_json_schema(mode="validation"))
    defs = schema.setdefault("$defs", {})
    if "Text" in defs:
        defs["Text"] = _text_schema(defs["Text"])
    props = schema["properties"]
    # `version: 1.0` in YAML is a number; the model keeps it as text.
    props["version"] = {
        "title": "Version",
        "description": "the pack's version; a YAML number such as 1.0 is read as the text \"1.0\"",
        "anyOf": [{"type": "string"}, {"type": "number"}],
    }
    props["lessons"] = {
        "title": "Lessons",
        "description": "lesson files in order (default: every *.yaml but pack.yaml, sorted)",
        "anyOf": [{"type": "array", "items": {"type": "string", "minLength": 1}}, {"type": "null"}],
        "default": None,
    }
    return _header(schema, "pack", "tutor pack.yaml (format 1)", "A tutor pack's pack.yaml: its id, title, version and lesson order.")


def _header(schema: dict[str, Any], name: str, title: str, description: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"{BASE_ID}/{name}.schema.json",
        "title": title,
        "description": description,
    }
    out.update({k: v for k, v in schema.items() if k not in ("title", "description")})
    return out


# ---------------------------------------------------------------- corrections


def _fix(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    defs = schema.get("$defs")
    if not isinstance(defs, dict):
        raise SchemaDrift("the lesson schema has no $defs")
    for name in ("Text", "Case", "CheckSpec", "Task", "PinnedDims", "TensorValues", *_VALUE_BRANCHES):
        if name not in defs:
            raise SchemaDrift(f"the lesson schema has no definition {name!r}")

    defs["Text"] = _text_schema(defs["Text"])

    # Value specs: one definition, told apart by keys; pinned dims only under `dims`.
    defs["PinnedDims"] = {
        "title": "PinnedDims",
        "description": "a case's `dims: {n: 3}`: fixes symbolic dimensions for that case",
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"pattern": _SYMBOL},
        "additionalProperties": {"type": "integer"},
    }
    defs["Numbers"] = {
        "description": "a number, or a nested list of numbers",
        "anyOf": [
            {"type": "number"},
            {"type": "boolean"},
            {"type": "array", "items": {"$ref": "#/$defs/Numbers"}},
        ],
    }
    defs["TensorValues"]["properties"]["values"] = {"title": "Values", "$ref": "#/$defs/Numbers"}
    defs["Value"] = {
        "title": "Value",
        "description": "an argument of a case: a plain value (a bare dim name such as `n` is that dim's value),"
        " or a mapping with `values`, `shape`, `generator`, `dim`, `device` or `dtype`",
        "oneOf": [
            {"$ref": "#/$defs/TensorValues"},
            {"$ref": "#/$defs/RandomTensor"},
            {"$ref": "#/$defs/GeneratorValue"},
            {"$ref": "#/$defs/DimValue"},
            {"$ref": "#/$defs/DeviceValue"},
            {"$ref": "#/$defs/DtypeValue"},
            {"$ref": "#/$defs/PlainValue"},
        ],
    }
    defs["PlainValue"] = {
        "title": "PlainValue",
        "description": "a scalar, list or string, passed as that Python value",
        "type": ["boolean", "integer", "number", "string", "array", "null"],
    }
    # The branches exclude each other: each forbids keys it does not know
    # (additionalProperties: false), and each needs the key that picks it.
    for name in ("TensorValues", "RandomTensor", "GeneratorValue", "DimValue", "DeviceValue", "DtypeValue"):
        if defs[name].get("additionalProperties") is not False:
            raise SchemaDrift(f"{name} no longer forbids unknown keys; its branch would overlap the others")
    _replace_value_unions(schema)

    defs["Case"] = {
        "title": "Case",
        "description": defs["Case"].get("description", ""),
        "type": "object",
        "properties": {"dims": {"$ref": "#/$defs/PinnedDims"}},
        "propertyNames": {"pattern": _SYMBOL},
        "additionalProperties": {"$ref": "#/$defs/Value"},
    }

    defs["CheckSpec"] = _check_schema()
    for name in ("ResultOptions", "SourceOptions", "CustomOptions", "GradcheckOptions", "EfficiencyOptions"):
        defs.setdefault(name, _options_schema(name))
    defs["DimValue"]["properties"]["dim"]["description"] = "a dim name, or an expression of dims such as `n + 1`"
    bound = {"anyOf": [{"type": "number"}, {"type": "string", "minLength": 1}, {"type": "null"}], "default": None,
             "description": "a number, or an expression of the task's dims such as `n` or `n + 1`"}
    random = defs["RandomTensor"]["properties"]
    random["low"] = {"title": "Low", **bound}
    random["high"] = {"title": "High", **bound}
    random["shape"] = {
        "title": "Shape", "type": "array",
        "description": "sizes: integers, dim names, or expressions of dims such as `n + 1`",
        "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1}]},
    }

    task = defs["Task"]
    props = task["properties"]
    props["dims"] = {
        "title": "Dims",
        "description": "inclusive [low, high] ranges of the symbolic dimensions, e.g. {n: [1, 6]}",
        "type": "object",
        "propertyNames": {"pattern": _SYMBOL},
        "additionalProperties": {
            "type": "array",
            "prefixItems": [{"type": "integer", "minimum": 0}, {"type": "integer", "minimum": 0}],
            "minItems": 2,
            "maxItems": 2,
        },
    }
    props["where"] = {
        "title": "Where",
        "description": "conditions the drawn dims must meet, e.g. `n <= m` or [n != m, m < 2 * n]",
        "anyOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string", "minLength": 1}}],
    }
    props["feedback"] = {
        "title": "Feedback",
        "description": props.get("feedback", {}).get("description", "text shown when the named check fails"),
        "type": "object",
        # `result`, or `result.shape`: a check, optionally with one of its aspects.
        "propertyNames": {"pattern": "^(" + "|".join(sorted(_check_kinds())) + r")(\..+)?$"},
        "additionalProperties": {"$ref": "#/$defs/Text"},
    }
    if "random_args" in props:
        props["random_args"] = {
            "title": "Random Args",
            "description": "the template of the hidden cases",
            "anyOf": [
                {"type": "object", "propertyNames": {"pattern": _SYMBOL}, "additionalProperties": {"$ref": "#/$defs/Value"}},
                {"type": "null"},
            ],
            "default": None,
        }
    task["allOf"] = [
        {"anyOf": [
            {"required": ["cases"], "properties": {"cases": {"minItems": 1}}},
            {"required": ["random_cases"], "properties": {"random_cases": {"minimum": 1}}},
        ]},
        # A predict task makes its own starter; every other task writes one.
        {"anyOf": [{"required": ["starter"]}, {"required": ["predict"]}]},
    ]
    _describe_task(props)
    _check_no_stray_unions(schema)
    return schema


def _text_schema(generated: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "Text",
        "description": generated.get("description", "") or "a plain string or {en: ..., zh: ...}",
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": _LANG},
                "additionalProperties": {"type": "string"},
            },
        ],
    }


def _is_value_union(node: Any) -> bool:
    if not isinstance(node, dict) or not isinstance(node.get("oneOf"), list):
        return False
    refs = {item.get("$ref", "").rsplit("/", 1)[-1] for item in node["oneOf"] if isinstance(item, dict)}
    return "PinnedDims" in refs and "RandomTensor" in refs


def _replace_value_unions(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if _is_value_union(value):
                node[key] = {"$ref": "#/$defs/Value"}
            else:
                _replace_value_unions(value)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if _is_value_union(value):
                node[i] = {"$ref": "#/$defs/Value"}
            else:
                _replace_value_unions(value)


def _check_no_stray_unions(node: Any) -> None:
    """Every reference to pinned dims must be one this module put there."""
    text = repr(node)
    allowed = text.count("'#/$defs/PinnedDims'")
    if allowed != 1:
        raise SchemaDrift(f"the value-spec union appears in an unexpected place ({allowed} references to PinnedDims)")


# ---------------------------------------------------------------- checks


def _check_kinds() -> set[str]:
    from tutor.pack.models import CHECK_OPTIONS

    return set(CHECK_OPTIONS)


def _options_schema(name: str) -> dict[str, Any]:
    from tutor.pack.models import CustomOptions, EfficiencyOptions, GradcheckOptions, ResultOptions, SourceOptions

    model = {"ResultOptions": ResultOptions, "SourceOptions": SourceOptions, "CustomOptions": CustomOptions,
             "GradcheckOptions": GradcheckOptions, "EfficiencyOptions": EfficiencyOptions}[name]
    schema = model.model_json_schema(mode="validation")
    schema.pop("$defs", None)
    if name == "EfficiencyOptions":  # a limit: a count, or an expression of dims
        limit = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "minLength": 1}, {"type": "null"}]}
        for key in ("max_flops", "max_alloc_bytes"):
            schema["properties"][key] = {"title": schema["properties"][key].get("title", key),
                                         "description": schema["properties"][key].get("description", ""),
                                         "default": None, **limit}
        schema["properties"]["relative_to_reference"]["anyOf"] = [{"type": "number", "minimum": 1}, {"type": "null"}]
        schema["anyOf"] = [{"required": [key]} for key in ("max_flops", "max_alloc_bytes", "relative_to_reference")]
    return schema


_NAMES = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}
_CHECK_TEXT = {
    "result": "the returned value matches the reference's (structure, shape, dtype, device, values within tolerance)",
    "aliasing": "each returned tensor shares storage with exactly what the reference's does",
    "mutation": "every input holds what the reference left in it",
    "input_grads": "the .grad of these inputs matches the reference's after the call",
    "backward": "the grader runs backward from the result; these inputs' .grad match the reference's",
    "forbid": "none of these torch functions or methods was called",
    "require": "each of these was called at least once",
    "source": "the entry function's source meets these rules (read, never run)",
    "custom": "the pack's own check: checks.module:function, or {check, options, scope: case|task, rule}",
    "gradcheck": "torch.autograd.gradcheck on the learner's custom autograd.Function, in float64, in the sandbox",
    "predict": "a predict task's prediction matches what its snippet gives, field by field (a predict task's only check)",
    "efficiency": "the entry call's FLOPs and fresh allocation on each case stay within these limits",
}


def _check_schema() -> dict[str, Any]:
    kinds = _check_kinds()
    known = {"result", "aliasing", "mutation", "input_grads", "backward", "forbid", "require", "source", "custom",
             "gradcheck", "predict", "efficiency"}
    if kinds != known:
        raise SchemaDrift(f"check kinds changed: {sorted(kinds ^ known)}; describe them in tutor/pack/schema.py")
    empty = {"anyOf": [{"type": "null"}, {"const": True}, {"type": "object", "maxProperties": 0}]}
    options: dict[str, Any] = {
        "result": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/ResultOptions"}]},
        "aliasing": empty,
        "mutation": empty,
        "input_grads": _NAMES,
        "backward": _NAMES,
        "forbid": _NAMES,
        "require": _NAMES,
        "source": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/SourceOptions"}]},
        "gradcheck": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/GradcheckOptions"}]},
        "efficiency": {"$ref": "#/$defs/EfficiencyOptions"},
        "custom": {"anyOf": [
            {"type": "string", "pattern": r"^checks(\.[A-Za-z_]\w*)+:[A-Za-z_]\w*$"},
            {"$ref": "#/$defs/CustomOptions"},
        ]},
        "predict": empty,
    }
    by_mapping = [
        {
            "type": "object",
            "description": _CHECK_TEXT[kind],
            "properties": {kind: options[kind]},
            "required": [kind],
            "additionalProperties": False,
        }
        for kind in sorted(kinds)
    ]
    return {
        "title": "Check",
        "description": "a check: a name (`result`) or a one-key mapping of a name to its options (`{forbid: [torch.sigmoid]}`)",
        "oneOf": [
            {
                "type": "string",
                "description": "a check that needs no options",
                "enum": ["aliasing", "gradcheck", "mutation", "predict", "result", "source"],
            },
            *by_mapping,
        ],
    }


# ---------------------------------------------------------------- descriptions for editors

_TASK_TEXT = {
    "id": "[a-z0-9-]+; the task's full id is lesson-id/task-id",
    "title": "the task's title",
    "prompt": "what the learner is asked to do (Markdown)",
    "entry": "the function the learner writes (default solve)",
    "starter": "the learner's file starts as this",
    "solution": "the reference, defining the same entry (a predict task: the right prediction file); never shown before a pass",
    "cases": "fixed cases, shown to the learner with their values",
    "random_cases": "hidden extra cases, fresh values every run",
    "checks": "what must hold on every case (default: [result, mutation])",
    "tolerance": "rtol/atol for float comparisons (default: by dtype, as torch.testing)",
    "hints": "shown one at a time, in order",
    "points": "points for the task (default 1)",
    "partial": "true: score = points x fraction of cases passed",
    "devices": "where the task may run (default both)",
    "timeout": "seconds of wall time per case run (default 10)",
    "memory_mb": "memory limit of the learner's run (default 2048)",
}


def _describe_task(props: dict[str, Any]) -> None:
    for key, text in _TASK_TEXT.items():
        if key in props and "description" not in props[key]:
            props[key]["description"] = text


__all__ = ["lesson_schema", "pack_schema", "SchemaDrift"]
