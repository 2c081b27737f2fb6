"""The naive grader the benchmarks compare against: one fresh Python per task.

It is what a grader without a warm worker does: start Python, import torch,
build the inputs, run the learner's function and the reference in-process (no
sandbox at all, so it is also cheaper per task than any safe design would be),
compare the results, exit. Usage: ``naive_grader.py PACK TASK FILE SEED``.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(pack_dir: str, task_id: str, file: str, seed: str) -> int:
    import torch

    from tutor.grading.compare import compare
    from tutor.grading.inputs import make_cases
    from tutor.pack.loader import load_pack

    pack = load_pack(Path(pack_dir))
    _, task = pack.find(task_id)
    learner: dict = {}
    exec(compile(Path(file).read_text(), file, "exec"), learner)  # noqa: S102 - benchmark only
    reference: dict = {}
    exec(compile(task.solution, "<reference>", "exec"), reference)  # noqa: S102
    ok = True
    for case in make_cases(task_id, task, int(seed), "cpu"):
        got = learner[task.entry](**{k: (v.clone() if isinstance(v, torch.Tensor) else v) for k, v in case.args.items()})
        want = reference[task.entry](**case.args)
        ok = ok and compare(want, got, "result", rtol_atol=None, device="cpu", hidden=True, lang="en") is None
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:5]))
