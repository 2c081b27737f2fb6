"""``tutor lesson new ID``: a commented lesson file to start from.

The template explains every field of the lesson format (version 1) in
comments and holds one complete example task. As written it loads and
passes ``tutor lesson validate`` (its reference passes, its starter fails),
so an instructor can change it one field at a time and validate as they go.
"""

from __future__ import annotations

import re
from pathlib import Path

from tutor.errors import UserError

_ID = re.compile(r"^[a-z0-9-]+$")
_PLACEHOLDER = "__LESSON_ID__"
_TITLE = "__LESSON_TITLE__"

TEMPLATE = """\
# A tutor lesson (lesson format version 1).
#
# Check it as you edit:   tutor lesson validate __LESSON_ID__.yaml
# Try it as a learner:    tutor start --pack __LESSON_ID__.yaml
# Editor completion:      tutor lesson schema -o lesson.schema.json, then point your
#                         editor's YAML plugin at it (e.g. a first line
#                         "# yaml-language-server: $schema=lesson.schema.json").
#
# Texts: every human-readable field (title, summary, intro, prompt, each hint,
# each feedback text) is a plain string or a mapping of language to string,
# {en: ..., zh: ...}. Markdown is allowed. A missing language falls back to
# English, then to any language present.
#
# To use this lesson in a pack, put it in the pack folder beside pack.yaml:
#   format: 1
#   id: my-course                # [a-z0-9-]+
#   title: {en: My course, zh: 我的课程}
#   version: "1.0"
#   lessons: [__LESSON_ID__.yaml]      # optional; default: every *.yaml but pack.yaml, sorted

format: 1                       # the lesson format's version: always 1 for now
id: __LESSON_ID__               # [a-z0-9-]+, unique in the pack; tasks are __LESSON_ID__/<task-id>
title: {en: __LESSON_TITLE__, zh: __LESSON_TITLE__}
summary:                        # one line, shown in `tutor list`
  en: Reductions along one dimension.
  zh: 沿一个维度做归约。
intro:                          # shown before the first task (Markdown)
  en: |
    A **reduction** such as `sum` collapses a dimension of a tensor.
    `x.sum(dim=1)` adds up each row of a matrix and returns one number per row.
  zh: |
    **归约**（例如 `sum`）会把张量的某个维度压缩掉。
    `x.sum(dim=1)` 把矩阵的每一行相加，每行得到一个数。
# requires: [other-lesson]      # optional: ids of lessons to finish first (same pack)
# preamble: |                   # optional: helper code for every task (pack.yaml may have one too),
#   def helper(x): ...          #   shown read-only atop each starter, run before learner code and reference
# default_checks:               # optional: checks every task runs, merged with the task's own
#   - {forbid: [torch.sum]}     #   (name lists joined; the task's options win)

tasks:                          # at least one task
  - id: row-sums                # [a-z0-9-]+, unique in the lesson
    title: {en: Row sums, zh: 按行求和}
    prompt:                     # what the learner must do (Markdown)
      en: |
        Write `solve(x)` that returns the sum of each row of the matrix `x`:
        a 1-D tensor with one entry per row. Do not change `x`.
      zh: |
        编写 `solve(x)`，返回矩阵 `x` 每一行的和：
        一个一维张量，每行对应一个元素。不要修改 `x`。
    entry: solve                # the function the learner writes (default: solve)

    # The learner's exercise file starts as this. It must not pass yet.
    starter: |
      import torch


      def solve(x: torch.Tensor) -> torch.Tensor:
          \"\"\"Return the sum of each row of x.\"\"\"
          raise NotImplementedError

    # The reference: same entry, same parameters. Never shown before a pass;
    # `tutor lesson export --student` removes it from the packs you hand out.
    solution: |
      def solve(x):
          return x.sum(dim=1)

    # Fixed cases, shown to the learner with their values. A case maps the
    # entry's parameter names to values:
    #   3, 2.5, "text", [1, 2]                 that Python value
    #   {values: [[1, 2]], dtype: float64}      that tensor (dtype default: as torch infers)
    #   {shape: [3, n], dtype: float32, dist: normal}
    #                                           a random tensor; dist: normal (default),
    #                                           uniform, int or bool; low/high for uniform
    #                                           (default 0..1) and int (default 0..10, high excluded)
    #   ... requires_grad: true                 a leaf that requires grad
    #   ... layout: transposed | sliced         a non-contiguous tensor with those values
    #   {dtype: float64}                        the torch.dtype itself
    #   {generator: 42}                         a torch.Generator seeded with 42
    #   {device: grading}                       the torch.device the task is graded on
    #   {dim: n}  (or just n)                   the int value of dim n (or of `n + 1`, ...)
    # shape, low and high may name dims or be expressions of them: shape: [n, n + 1],
    # {dist: int, high: n} (values below n); sorted: true and unique: true constrain values.
    cases:
      - {x: {values: [[1, 2, 3], [4, 5, 6]], dtype: float32}}
      - x: {shape: [n, 5], dist: uniform, low: -1, high: 1}
        dims: {n: 3}            # pin a symbolic dimension for this case only

    # Hidden cases: never shown with their values, fresh values every run
    # (from a recorded seed, so any failure can be replayed with --seed).
    random_cases: 3             # default 0
    random_args:                # their template; default: the fixed cases that have a `shape`
      x: {shape: [n, m], layout: transposed}
    dims: {n: [1, 6], m: [1, 8]}    # inclusive ranges of the symbolic dimensions
    # distinct_dims: [n, m]     # optional: these dims never draw the same value
    # where: ["n <= m"]         # optional: conditions the drawn dims must meet

    # What must hold on every case, fixed and hidden. A name, or a one-key mapping:
    #   result                          same structure, shapes, dtypes, devices, values
    #   {result: {strides: true}}       ... and the same strides and storage offset
    #   aliasing                        shares storage with exactly what the reference's does
    #   mutation                        inputs end as the reference leaves them
    #   {input_grads: [x]}              .grad after the learner's own backward()
    #   {backward: [x]}                 the grader runs backward; .grad must match
    #   {gradcheck: {inputs: [x], skip_cases: [2]}}   a custom autograd.Function's backward agrees
    #                                   with finite differences (float64; eps, atol, rtol too)
    #   {forbid: [torch.sigmoid, Tensor.sigmoid]}   never called
    #   {require: [Tensor.view]}                    called at least once
    #   {source: {max_lines: 1, no_loops: true, forbid_names: [numpy]}}   rules on the code
    #   {custom: checks.mine:check_name}            the pack's own check (pack's checks/ folder)
    #   {custom: {check: checks.mine:fn, options: {...}, scope: task, rule: true}}
    # Rules (forbid, require, source, custom with rule: true) judge the learner only:
    # `tutor lesson validate` just warns when the reference breaks one (--strict: error).
    checks:                     # default: [result, mutation]
      - result
      - mutation
      - {source: {no_loops: true}}
    tolerance: {rtol: 1.0e-5, atol: 1.0e-6}   # optional; default: by dtype, as torch.testing

    hints:                      # shown one at a time, in order (`tutor hint`)
      - {en: "Tensors have a `sum` method.", zh: "张量有 `sum` 方法。"}
      - {en: "`dim=1` sums across the columns of each row.", zh: "`dim=1` 会把每一行的各列加起来。"}
    feedback:                   # optional: shown when the named check fails (`result.shape:` for one aspect)
      result: {en: "Each row gives one number: the result has one entry per row.", zh: "每一行得到一个数：结果的长度等于行数。"}
      source: {en: "Let torch do the looping: no Python `for` or `while`.", zh: "让 torch 去循环：不要写 Python 的 `for` 或 `while`。"}
    summary:                    # optional: what the learner takes away, shown on a pass
      en: "`x.sum(dim=d)` removes dimension `d`; add `keepdim=True` to keep it with size 1."
      zh: "`x.sum(dim=d)` 会去掉第 `d` 维；加上 `keepdim=True` 则保留该维，大小为 1。"

    points: 1                   # default 1
    partial: false              # true: score = points x fraction of cases passed
    devices: [cpu, cuda]        # where it may run (default: both)
    timeout: 10                 # seconds of wall time per case run (default 10)
    memory_mb: 2048             # memory limit of the learner's run (default 2048)
    # allow_internals: false    # true lets the learner's code reach torch internals
"""


def render_template(lesson_id: str) -> str:
    """The template's text for ``lesson_id`` (checked to be ``[a-z0-9-]+``)."""
    if not isinstance(lesson_id, str) or not _ID.fullmatch(lesson_id):
        raise UserError(f"lesson id {lesson_id!r}: use lowercase letters, digits and '-' only ([a-z0-9-]+)")
    title = lesson_id.replace("-", " ").strip().capitalize() or lesson_id
    # A title of digits only would be read as a number by YAML: quote it.
    if not re.search(r"[A-Za-z]", title):
        title = f'"{title}"'
    return TEMPLATE.replace(_PLACEHOLDER, lesson_id).replace(_TITLE, title)


def write_template(lesson_id: str, output: Path | None) -> Path:
    """Write the commented template to ``output`` (default ``./<ID>.yaml``); never overwrite."""
    text = render_template(lesson_id)
    path = Path(output) if output is not None else Path(f"{lesson_id}.yaml")
    if path.is_dir():
        path = path / f"{lesson_id}.yaml"
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    try:
        with open(path, "x", encoding="utf-8", newline="\n") as out:
            out.write(text)
    except FileExistsError:
        raise UserError(f"{path} already exists; not overwriting it (choose another name with --output)") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return path


__all__ = ["TEMPLATE", "render_template", "write_template"]
