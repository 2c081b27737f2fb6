"""Grading one task: learner file + pack -> a Verdict.

    read and pre-check the source (syntax)  ->  make inputs from a seed
    ->  run the reference here  ->  run the learner in the sandbox
    ->  decode and validate what came back  ->  checks  ->  verdict

Everything the learner's process sends is parsed here, strictly; everything
is compared here. The sandbox only runs code and reports.
"""

from __future__ import annotations

import importlib
import platform
import secrets
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator

import torch

import tutor.checks as contract
import tutor
from tutor.checks import CaseContext, Finding, Run
from tutor.checks import gradcheck
from tutor import pycode
from tutor.errors import PackError, Problem, UserError
from tutor.grading import efficiency, feedback, refusal, runtime_errors
from tutor.grading.compare import tensor_paths
from tutor.grading.inputs import CaseError, CaseInputs, make_cases
from tutor.grading.meta_case import cpu_pinned, is_meta, meta_case
from tutor.grading.needs import records_ops, worker_needs
from tutor.grading.pool import Pool, RunResult
from tutor.grading import predict, public
from tutor.grading.reference import TORCH_STATE, Reference
from tutor.i18n import Message
from tutor.jail import frames, wire
from tutor.pack import helpers
from tutor.pack.loader import Pack
from tutor.pack.models import Task
from tutor.source_text import SourceDecodeError, decode_source
from tutor.verdict import CaseInfo, CheckResult, PackRef, Status, Verdict, only_efficiency_failed

MAX_SOURCE_BYTES = 1 << 20
PREPARED_CACHE = 256  # (task, seed) preparations kept: a whole course, several seeds
MAX_RESULT_BYTES = 64 << 20
STARTUP_ALLOWANCE = 2.0  # seconds a child needs before the first case starts

M_NO_FILE = Message(en="No file at {path}.", zh="找不到文件 {path}。")
M_NOT_TEXT = Message(
    en="{path}:{line}:{column}: not {encoding} text here; save the file as UTF-8.",
    zh="{path}:{line}:{column}：此处不是 {encoding} 文本；请以 UTF-8 保存文件。",
)
M_TOO_BIG = Message(en="{path} is larger than 1 MiB.", zh="{path} 超过 1 MiB。")
M_TIMEOUT = Message(
    en="Your code ran past the time limit ({limit:g} s per case) on case {case}: look for a loop that never ends.",
    zh="你的代码在第 {case} 个用例上超过了时间限制（每个用例 {limit:g} 秒）：检查是否有永不结束的循环。",
)
M_CRASHED = Message(
    en="The process running your code died ({how}) before it finished. {hint}",
    zh="运行你代码的进程在完成前终止了（{how}）。{hint}",
)
M_MEMORY_HINT = Message(
    en="It was killed on case {case}, most often because it used too much memory (the limit is {mb} MiB).",
    zh="它在第 {case} 个用例上被强制终止，最常见的原因是占用了过多内存（上限 {mb} MiB）。",
)
M_CPU_HINT = Message(
    en="It used up its CPU time on case {case}: look for a loop that never ends.",
    zh="它在第 {case} 个用例上用完了 CPU 时间：检查是否有永不结束的循环。",
)
M_TORCH_CRASH_HINT = Message(
    en="torch itself crashed on case {case}: this is a fault in torch or a native library, not your"
    " code's memory use. Try writing that step another way, and tell your instructor.",
    zh="torch 本身在第 {case} 个用例上崩溃了：这是 torch 或某个原生库的故障，不是你的代码占用内存造成的。"
    "请换一种写法完成这一步，并告诉你的老师。",
)
M_EXIT_HINT = Message(
    en="Did your code call sys.exit() or os._exit()?",
    zh="你的代码是否调用了 sys.exit() 或 os._exit()？",
)
M_TOO_LARGE = Message(
    en="Your result is too large to grade (over {mb} MiB of tensor data).",
    zh="你的结果太大，无法评分（张量数据超过 {mb} MiB）。",
)
M_INCONSISTENT = Message(
    en="The sandbox received an inconsistent result ({why}); the run cannot be trusted.",
    zh="沙箱收到了前后矛盾的结果（{why}）；这次运行不可信。",
)
M_UNCHECKABLE = Message(
    en="Your result could not be checked ({why}); it is not graded as passed.",
    zh="无法检查你的结果（{why}）；不按通过评分。",
)
M_CASE_ERROR = Message(
    en="Your code raised an error on case {case} ({args}):\n{trace}",
    zh="你的代码在第 {case} 个用例（{args}）上抛出了错误：\n{trace}",
)
M_DEVICE = Message(
    en="This task is not graded on {device} (it runs on {allowed}).",
    zh="此题不在 {device} 上评分（可用设备：{allowed}）。",
)
M_NO_CUDA = Message(
    en="CUDA was asked for (--device cuda), but torch {version} sees no CUDA device on this machine.",
    zh="指定了 CUDA（--device cuda），但 torch {version} 在本机上找不到 CUDA 设备。",
)
M_EMPTY_TRACE = Message(
    en="the op recording came back empty for a computed result",
    zh="计算出的结果却没有任何运算记录",
)


def check_device(device: str, lang: str) -> None:
    """Refuse an unusable device up front, with one clear line (exit 2)."""
    if device not in ("cpu", "cuda"):
        raise UserError(f"--device must be cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UserError(M_NO_CUDA(lang, version=torch.__version__))


@dataclass
class _Outcome:
    """The learner's run, read from the result channel."""

    layers: list[str] = field(default_factory=list)
    refused: tuple[str, str, str, int | None] | None = None  # event, reason code, what was asked for, line
    load_error: str | None = None
    runs: dict[int, Run] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    done: bool = False
    inconsistent: str | None = None

    def reported(self) -> int:
        """How many cases have a result (a run or an error): the cases run in order, so this is
        also the index of the case that was running if the child stopped early."""
        return len(self.runs) + len(self.errors)


def _call(task: Task) -> str:
    """``solve(x, dim)``: the entry called with the parameters its cases give (reports show it)."""
    template = task.cases[0].args if task.cases else (task.random_args or {})
    return f"{task.entry}({', '.join(template)})"


class Grader:
    """Grades tasks; owns the warm sandbox workers (``jobs`` of them) until closed."""

    def __init__(self, device: str = "cpu", jobs: int = 1, lang: str = "en", *, pool: Pool | None = None) -> None:
        check_device(device, lang)
        self.device = device
        self.jobs = max(1, jobs)
        self.lang = lang
        self.pool = pool if pool is not None else Pool(device, self.jobs)
        self._references: dict[tuple[str, str], Reference] = {}
        self._ref_lock = threading.Lock()
        self._prepared: OrderedDict[tuple[str, str, int], tuple[list[CaseInputs], list[Run], dict[str, Any], bytes]] = OrderedDict()
        self.snippets = predict.SnippetRuns()

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    def layers(self) -> dict[str, str]:
        return self.pool.layers()

    def cancel(self) -> None:
        """Kill the learner code running now; its grade ends as a crash nobody will show."""
        self.pool.cancel()

    def warm(self) -> None:
        """Start the sandbox workers in the background (``tutor start`` calls it while the learner reads)."""
        self.pool.warm()

    # ------------------------------------------------------------ public

    def grade_many(self, items: Iterable[tuple[Pack, str, Path | UserError, int | None]]) -> Iterator[Verdict]:
        """Grade many tasks, ``jobs`` at a time, yielding verdicts in the order given.

        One task's failure costs that task only: a file that cannot be graded
        (given as the UserError that says why, e.g. a symlink out of the
        workspace) or anything that goes wrong while grading it becomes that
        task's ``error`` verdict, and the batch goes on.
        """
        items = list(items)
        # One thread more than workers: it reads, prepares and judges the
        # next task here while every worker runs one.
        with ThreadPoolExecutor(self.jobs + 1) as executor:
            futures = [executor.submit(self._grade_isolated, p, t, f, s) for p, t, f, s in items]
            for future in futures:
                yield future.result()

    def _grade_isolated(self, pack: Pack, task_id: str, path: Path | UserError, seed: int | None) -> Verdict:
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        try:
            if isinstance(path, UserError):
                raise path
            return self.grade(pack, task_id, path, seed=seed)
        except Exception as exc:  # noqa: BLE001 - in a batch, never lose the other verdicts
            found = pack.find(task_id)
            if found is None:
                raise
            verdict = self._blank(pack, task_id, found[1], seed)
            verdict.error = str(exc) if isinstance(exc, UserError) else M_UNCHECKABLE(
                self.lang, why=f"{type(exc).__name__}: {exc}"[:300])
            return verdict

    def grade(self, pack: Pack, task_id: str, path: Path, *, seed: int | None = None,
              tried: Collection[str] | None = None) -> Verdict:
        """One task's verdict. ``tried``: for a predict task graded as the learner's attempt, the
        wrong predictions already counted (``tutor.grading.predict``); None grades without counting."""
        found = pack.find(task_id)
        if found is None:
            raise UserError(f"no task {task_id!r} in pack {pack.id} (tasks look like lesson-id/task-id)")
        _, task = found
        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        started = time.monotonic()
        verdict = self._grade(pack, task_id, task, Path(path), seed, tried)
        verdict.duration_ms = int((time.monotonic() - started) * 1000)
        return verdict

    # ------------------------------------------------------------ steps

    def _blank(self, pack: Pack, task_id: str, task: Task, seed: int) -> Verdict:
        return Verdict(
            task=task_id, status=Status.ERROR, score=0.0, max_score=float(task.points), device=self.device,
            seed=seed, duration_ms=0, title=task.title.get(self.lang), call=_call(task),
            pack=PackRef(pack.id, pack.version, pack.hash),
            versions={"torch": torch.__version__, "tutor": tutor.__version__, "python": platform.python_version()},
        )

    def _grade(self, pack: Pack, task_id: str, task: Task, path: Path, seed: int,
               tried: Collection[str] | None = None) -> Verdict:
        verdict = self._blank(pack, task_id, task, seed)
        lang = self.lang
        if self.device not in task.devices:
            verdict.error = M_DEVICE(lang, device=self.device, allowed=", ".join(task.devices))
            return verdict
        source = self._read_source(path, verdict)
        if source is None:
            return verdict
        if task.predict is not None:  # the prediction is read here; the sandbox runs the snippet
            predict.judge(self, verdict, pack, task_id, task, path, source, tried)
            return verdict
        preamble = pack.preamble(task_id)
        if preamble:  # the course's copy of the helpers is run, not the learner's (tutor.pack.helpers)
            source = helpers.blank_helpers(source)
        tree = pycode.parse(source, str(path))
        if isinstance(tree, pycode.SyntaxProblem):
            verdict.error = _syntax_error(path, source, tree)
            return verdict

        cases, ref_runs, doc, blob = self._prepare(pack, task_id, task, seed)
        verdict.cases = [CaseInfo(c.index, c.hidden, c.described) for c in cases]
        if pack.student:
            verdict.notes.append(public.M_HIDDEN_BY_COURSE(lang, n=task.random_cases))
            if task.check("custom"):
                verdict.notes.append(public.M_CUSTOM_BY_COURSE(lang))
        job = self.job(task, source, str(path.resolve()), task.entry, path.stem.replace("-", "_"), preamble, doc, len(cases))
        result, outcome = self.run_job(job, blob, len(cases))
        verdict.stdout = result.stdout
        verdict.stderr = result.stderr
        verdict.layers = outcome.layers
        try:
            self._judge(verdict, pack, task, cases, ref_runs, outcome, result, source)
        except Exception as exc:  # noqa: BLE001 - a result no check can read costs this task only
            verdict.checks = []
            verdict.score = 0.0
            verdict.status = Status.ERROR
            verdict.error = M_UNCHECKABLE(self.lang, why=f"{type(exc).__name__}: {exc}"[:300])
        return verdict

    def job(self, task: Task, source: str, filename: str, entry: str, module: str, preamble: str,
            payload: dict[str, Any], ncases: int) -> dict[str, Any]:
        """What the sandbox child is given for one run: code, limits, and the inputs' payload."""
        return {
            "source": source,
            "filename": filename,
            "entry": entry,
            "module": module,
            "device": self.device,
            "record": records_ops(task),
            "efficiency": bool(task.check("efficiency")),
            "warm": worker_needs(task, source + preamble),
            "allow_internals": task.allow_internals,
            "deadline": task.timeout * ncases + STARTUP_ALLOWANCE,
            "case_timeout": task.timeout,
            "startup": STARTUP_ALLOWANCE,
            "memory_mb": task.memory_mb,
            "max_result_bytes": MAX_RESULT_BYTES,
            "payload": payload,
            "preamble": preamble,
        }

    def run_job(self, job: dict[str, Any], blob: bytes, ncases: int) -> tuple[RunResult, _Outcome]:
        """Run a job in the sandbox and read back, strictly, what its child sent."""
        result = self.pool.run(job, blob)
        return result, _read_outcome(result, ncases, self.device)

    def _prepare(self, pack: Pack, task_id: str, task: Task, seed: int) -> tuple[list[CaseInputs], list[Run], dict[str, Any], bytes]:
        """Inputs, the reference's runs and the payload for (task, seed), made once.

        A batch grades every student with one seed, so each task's inputs and
        reference runs are shared by all of them. Nothing downstream writes to
        these: the learner gets copies through the wire, checks only read.
        """
        key = (pack.hash, task_id, seed)
        with TORCH_STATE:
            if key in self._prepared:
                self._prepared.move_to_end(key)
                return self._prepared[key]
            backward = list(task.check("backward").options) if task.check("backward") else []
            if pack.student:  # no references here: the results they gave on the fixed cases
                cases, ref_runs, upstreams = public.read(pack.root, task_id, task, self.device, pack.locate(task_id),
                                                         self.lang)
            else:
                reference = self._reference(pack, task_id, task)
                try:
                    cases = make_cases(task_id, task, seed, self.device)
                except CaseError as exc:
                    raise PackError([Problem(pack.locate(task_id, *exc.path), str(exc))]) from None
                ref_runs, upstreams = reference.run_cases(cases, backward, self.device,
                                                          measure=bool(task.check("efficiency")))
                if task.meta_case and cases:  # results must follow their inputs' device (no backward there)
                    cases.append(meta_case(cases[0], len(cases), cpu_pinned(task)))
                    meta_runs, meta_upstreams = reference.run_cases(cases[-1:], [], self.device)
                    ref_runs, upstreams = ref_runs + meta_runs, upstreams + meta_upstreams
            checking = task.check("gradcheck")
            payload = {"cases": [{"args": c.args, "backward": [] if is_meta(c) else backward, "upstream": u,
                                  "gradcheck": gradcheck.request(checking.options, c.index)
                                  if checking and not is_meta(c) else None}
                                 for c, u in zip(cases, upstreams)]}
            doc, blob = wire.encode(payload)
            self._prepared[key] = (cases, ref_runs, doc, blob)
            while len(self._prepared) > PREPARED_CACHE:
                self._prepared.popitem(last=False)
            return self._prepared[key]

    def _read_source(self, path: Path, verdict: Verdict) -> str | None:
        try:
            raw = path.read_bytes()
        except OSError:
            verdict.error = M_NO_FILE(self.lang, path=path)
            return None
        if len(raw) > MAX_SOURCE_BYTES:
            verdict.error = M_TOO_BIG(self.lang, path=path)
            return None
        try:
            return decode_source(raw)
        except SourceDecodeError as exc:
            verdict.error = M_NOT_TEXT(self.lang, path=path, line=exc.line, column=exc.column, encoding=exc.encoding)
            return None

    def _reference(self, pack: Pack, task_id: str, task: Task) -> Reference:
        key = (pack.hash, task_id)
        with self._ref_lock:
            if key not in self._references:
                self._references[key] = Reference(task_id, task.solution, task.entry, pack.locate(task_id, "solution"),
                                                  preamble=pack.preamble(task_id))
            return self._references[key]

    def _judge(self, verdict: Verdict, pack: Pack, task: Task, cases: list[CaseInputs], ref_runs: list[Run],
               outcome: _Outcome, result: RunResult, source: str) -> None:
        lang = self.lang
        if outcome.refused:
            verdict.status = Status.REFUSED
            verdict.error = refusal.run_time(*outcome.refused, lang=lang)
            return
        if outcome.inconsistent:
            verdict.status = Status.REFUSED
            verdict.error = M_INCONSISTENT(lang, why=outcome.inconsistent)
            return
        if outcome.load_error is not None:
            verdict.status = Status.ERROR
            verdict.error = self._explained(verdict, outcome.load_error, {})
            return

        # A student pack ships stubs for the course's own (custom) checks: the course runs those.
        runnable = [c for c in task.checks if not (pack.student and c.kind == "custom")]
        case_checks = [c for c in runnable if _scope(c) == "case"]
        task_checks = [c for c in runnable if _scope(c) == "task"]
        passed_cases = 0
        wasteful_cases = 0  # right on every other check, over an efficiency limit
        measured = task.check("efficiency")
        for case, ref_run in zip(cases, ref_runs):
            run = outcome.runs.get(case.index)
            if run is None:
                continue
            ctx = CaseContext(task_id=verdict.task, case=case.index, hidden=case.hidden, args=case.args,
                              learner=run, reference=ref_run,
                              tolerance=(task.tolerance.rtol, task.tolerance.atol) if task.tolerance else None,
                              device=self.device, lang=lang, source=source, entry=task.entry, dims=case.dims)
            results = []
            for spec in [s for s in case_checks if s.kind == "result"] if is_meta(case) else case_checks:
                if not _applies(spec, ctx):
                    continue
                finding = _run_check(spec, ctx, pack)
                if finding is None and spec.kind in ("forbid",) and _trace_suspicious(run, ctx):
                    verdict.status = Status.REFUSED
                    verdict.error = M_INCONSISTENT(lang, why=M_EMPTY_TRACE(lang))
                    return
                results.append(self._result(spec.kind, finding, case.index, task, ctx))
            verdict.checks.extend(feedback.ordered(results))
            passed_cases += all(r.passed for r in results)
            wasteful_cases += only_efficiency_failed(results)
            figures = efficiency.row(ctx, measured.options) if measured and not is_meta(case) else None
            if figures is not None:
                verdict.efficiency.append(figures)
        task_ok = True
        if task_checks:
            ctx = CaseContext(task_id=verdict.task, case=0, hidden=False, args={}, learner=Run(), reference=Run(),
                              tolerance=None, device=self.device, lang=lang, source=source, entry=task.entry)
            for spec in task_checks:
                finding = _run_check(spec, ctx, pack)
                verdict.checks.append(self._result(spec.kind, finding, None, task, ctx))
                task_ok = task_ok and finding is None

        all_ran = len(outcome.runs) == len(cases)
        if result.worker_lost:
            verdict.status = Status.CRASHED
            verdict.error = M_CRASHED(lang, how=result.worker_lost, hint="")
        elif result.timed_out:
            pending = [i for i in range(len(cases)) if i not in outcome.runs and i not in outcome.errors]
            verdict.status = Status.TIMEOUT
            verdict.error = M_TIMEOUT(lang, limit=task.timeout, case=(pending[0] if pending else len(cases) - 1) + 1)
        elif result.result_overflow:
            verdict.status = Status.CRASHED
            verdict.error = M_TOO_LARGE(lang, mb=MAX_RESULT_BYTES >> 20)
        elif outcome.errors:
            index = min(outcome.errors)
            verdict.status = Status.ERROR
            verdict.error = M_CASE_ERROR(lang, case=index + 1, args=_case_args(cases[index]),
                                         trace=self._explained(verdict, outcome.errors[index], cases[index].args))
        elif not outcome.done or not all_ran:
            how = _exit_text(result.exit_code)
            hint = _crash_hint(result.exit_code, outcome, len(cases), task.memory_mb, lang)
            verdict.status = Status.CRASHED
            verdict.error = M_CRASHED(lang, how=how, hint=hint)
        elif task_ok and passed_cases == len(cases):
            verdict.status = Status.PASSED
        else:
            verdict.status = Status.FAILED

        # A correct but wasteful case earns the efficiency check's credit.
        earned = passed_cases + efficiency.credit(task) * wasteful_cases
        if verdict.status is Status.PASSED:
            verdict.score = float(task.points)
        elif task.partial and task_ok and cases:
            verdict.score = round(task.points * earned / len(cases), 2)
        elif verdict.status is Status.FAILED and task_ok and passed_cases + wasteful_cases == len(cases):
            verdict.score = round(task.points * efficiency.credit(task), 2)

    def _explained(self, verdict: Verdict, trace: str, args: dict[str, Any]) -> str:
        """The learner's traceback, under one sentence explaining it when the error is a known one."""
        known = runtime_errors.explain(trace, args, self.lang)
        if known is None:
            return trace
        verdict.error_kind, sentence = known
        return f"{sentence}\n\n{trace}"

    def _result(self, kind: str, finding: Finding | None, case: int | None, task: Task,
                ctx: CaseContext) -> CheckResult:
        if finding is None:
            return CheckResult(kind, True, case)
        message = feedback.advice(task, kind, finding, ctx)
        return CheckResult(kind, False, case, message, finding.details, finding.aspect)


def _scope(spec: Any) -> str:
    """``case`` or ``task``: a custom check says so in its options, a built-in kind in its module."""
    if spec.kind == "custom":
        return spec.options.scope
    return getattr(_check_module(spec.kind), "SCOPE", "case")


def _check_module(kind: str) -> Any:
    return importlib.import_module(f"{contract.__name__}.{kind}")


def _applies(spec: Any, ctx: CaseContext) -> bool:
    """Whether a built-in kind has anything to say on this case (``applies``, if it defines one)."""
    applies = getattr(_check_module(spec.kind), "applies", None)
    return applies is None or bool(applies(ctx, spec.options))


def _run_check(spec: Any, ctx: CaseContext, pack: Pack) -> Finding | None:
    module = _check_module(spec.kind)
    if spec.kind == "custom":
        target = spec.options.check
        finding = module.run(module.load(pack.root, target), ctx, spec.options.options, target)
        if finding is not None:
            finding.details.setdefault("check", target)  # which custom check, when a task has several
        return finding
    return module.check(ctx, spec.options)


def _trace_suspicious(run: Run, ctx: CaseContext) -> bool:
    """A computed tensor result with no recorded op at all means the recording was tampered with."""
    results = tensor_paths(run.result)
    if not results or run.calls or run.ops:
        return False
    inputs = {t.untyped_storage().data_ptr() for _, v in run.inputs.items() for _, t in tensor_paths(v, "")}
    return any(t.untyped_storage().data_ptr() not in inputs for _, t in results)


def _case_args(case: CaseInputs) -> str:
    return ", ".join(f"{k}: {v.split(' = ')[0]}" for k, v in case.described.items())[:300]


def _crash_hint(code: int, outcome: _Outcome, ncases: int, memory_mb: int, lang: str) -> str:
    """Why a child that never finished died, naming the case it was on (as people count, from 1).

    Only SIGKILL can mean the memory limit (and the hard CPU limit); a fault
    signal (SEGV, BUS, ILL, FPE, ABRT) is torch or a native library crashing,
    which must not be blamed on the learner's memory.
    """
    if code >= 0:
        return M_EXIT_HINT(lang)
    case = min(outcome.reported(), max(ncases - 1, 0)) + 1  # the first case without a result: the one it was on
    if -code == signal.SIGKILL:
        return M_MEMORY_HINT(lang, case=case, mb=memory_mb)
    if -code == signal.SIGXCPU:
        return M_CPU_HINT(lang, case=case)
    return M_TORCH_CRASH_HINT(lang, case=case)


def _exit_text(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _syntax_error(path: Path, source: str, problem: pycode.SyntaxProblem) -> str:
    lines = source.splitlines()
    text = lines[problem.line - 1] if 0 < problem.line <= len(lines) else ""
    caret = " " * (max(problem.column, 1) - 1 + 4) + "^"
    return f'  File "{path}", line {problem.line}\n    {text}\n{caret}\nSyntaxError: {problem.message}'


#: Header bytes one frame may claim: the JSON trees are small (tensors travel
#: in blobs), so this is checked before any JSON is parsed.
MAX_HEADER_BYTES = 4 << 20
_LAYER_NAMES = frozenset({"rlimits", "netns", "caps", "landlock", "seccomp"})


def _read_outcome(result: RunResult, ncases: int, device: str) -> _Outcome:
    """Parse the child's result channel strictly; anything out of order is inconsistent.

    Whatever the child sent, this returns: every exception becomes an
    ``inconsistent`` outcome (a refused verdict), never a grader crash.
    """
    outcome = _Outcome()
    try:
        _parse_outcome(outcome, result, ncases, device)
    except Exception as exc:  # noqa: BLE001 - hostile bytes must never knock the grader over
        outcome.inconsistent = f"unreadable result ({type(exc).__name__})"
    return outcome


def _parse_outcome(outcome: _Outcome, result: RunResult, ncases: int, device: str) -> None:
    """The run the harness sends is: layers, then one case frame per case in order, then done
    (or load_error); refusals may come at any point. Anything else is refused."""
    limit = ncases + 8  # every frame an honest run sends, and a few refusals
    try:
        received, used = frames.scan_frames(result.result, max_frames=limit + 1, max_header=MAX_HEADER_BYTES)
    except frames.WireError as exc:
        outcome.inconsistent = str(exc)
        return
    if len(received) > limit:
        outcome.inconsistent = "more frames than the run can send"
        return
    final = False
    for position, (header, blob) in enumerate(received):
        kind = header.get("kind")
        if final:
            outcome.inconsistent = "frames after the end of the run"
            return
        if kind == "refused":
            if outcome.refused is None:
                line = header.get("line")
                outcome.refused = (str(header.get("event"))[:80], str(header.get("reason"))[:80],
                                   str(header.get("detail", ""))[:300], line if type(line) is int else None)
            continue
        if kind == "layers":
            active = header.get("active")
            if position != 0 or not isinstance(active, list) or not all(x in _LAYER_NAMES for x in active):
                outcome.inconsistent = "a forged layers frame"
                return
            outcome.layers = ["process", "environment", "audit", *dict.fromkeys(active)]
        elif kind == "load_error":
            if outcome.reported():
                outcome.inconsistent = "a load error after the cases started"
                return
            outcome.load_error = str(header.get("error", ""))[:8000]
            final = True
        elif kind == "case":
            index = header.get("case")
            if type(index) is not int or index != outcome.reported() or index >= ncases:
                outcome.inconsistent = "case results out of order"
                return
            if "error" in header:
                outcome.errors[index] = str(header["error"])[:8000]
                continue
            try:
                value = wire.decode(header.get("payload"), blob, device=device, max_bytes=MAX_RESULT_BYTES)
                outcome.runs[index] = _as_run(value, header)
            except (frames.WireError, KeyError, TypeError, ValueError) as exc:
                outcome.inconsistent = f"case {index}: {exc}"
                return
        elif kind == "done":
            if outcome.reported() != ncases:
                outcome.inconsistent = "the run ended before its cases"
                return
            outcome.done = True
            final = True
        else:
            outcome.inconsistent = "unknown frame"
            return


def _as_run(value: Any, header: dict[str, Any]) -> Run:
    if not isinstance(value, dict) or set(value) != {"result", "inputs", "grads", "backward_grads"}:
        raise frames.WireError("result payload has the wrong shape")

    def names(key: str) -> list[str]:
        raw = header.get(key) or []
        return [str(x)[:200] for x in raw[:20_000]] if isinstance(raw, list) else []

    for key in ("inputs", "grads", "backward_grads"):
        if not isinstance(value[key], dict):
            raise frames.WireError(f"{key} is not a mapping")
    error = header.get("backward_error")
    return Run(
        result=value["result"],
        inputs=value["inputs"],
        grads=value["grads"],
        backward_grads=value["backward_grads"],
        backward_error=str(error)[:2000] if error else None,
        calls=names("calls"),
        ops=names("ops"),
        grad_fns=names("grad_fns"),
        gradcheck=gradcheck.decode(header.get("gradcheck")),
        efficiency=efficiency.read_figures(header.get("efficiency")),
    )
