"""The moments worth a screen of their own: a lesson complete, the course complete.

After the last task of a lesson passes, the learner sees what the lesson
taught, one line per task (its title and its summary), before moving on;
after the last task of the course, how far they came. Reads the pack's
models only: no torch here.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.panel import Panel
from rich.text import Text

from tutor.i18n import Message
from tutor.ui.text import markdown

__all__ = ["LessonComplete", "CourseComplete", "lesson_done"]


class M:
    """Every string this module prints."""

    lesson_done = Message("Lesson complete: {title}", "本课完成：{title}")
    learned = Message("What this lesson taught:", "本课学到的内容：")
    go_on = Message("Press n for the next lesson.", "按 n 进入下一课。")
    course_done = Message("Course complete: {title}", "课程完成：{title}")
    course_line = Message(
        "You passed all {tasks} tasks of {lessons} lessons, in {attempts} checks, with {hints} hints.",
        "你通过了全部 {lessons} 课共 {tasks} 个练习，共检查 {attempts} 次，用了 {hints} 条提示。",
    )
    course_lessons = Message("Lessons:", "课程：")
    well_done = Message("Well done!", "做得好！")


def lesson_done(lesson: Any, done: Iterable[str]) -> bool:
    """Every task of ``lesson`` has passed."""
    done = set(done)
    return all(f"{lesson.id}/{t.id}" in done for t in lesson.tasks)


class LessonComplete:
    """The lesson's title and, per task, its title and what it taught."""

    def __init__(self, lesson: Any, lang: str = "en", *, more: bool = True) -> None:
        self.lesson, self.lang, self.more = lesson, lang, more

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lang, lesson = self.lang, self.lesson
        body: list[Any] = [Text(M.learned(lang), style="bold")]
        for task in lesson.tasks:
            line = Text("  ✓ ", style="green")
            line.append(task.title.get(lang), style="bold")
            body.append(line)
            summary = task.summary.get(lang)
            if summary:
                body.append(_indented(summary))
        if self.more:
            body.append(Text(""))
            body.append(Text(M.go_on(lang), style="bold cyan"))
        title = Text(M.lesson_done(lang, title=lesson.title.get(lang)), style="bold green")
        yield Panel(Group(*body), title=title, title_align="left", border_style="green")


class CourseComplete:
    """The whole course done: totals from the progress, and every lesson's title."""

    def __init__(self, pack: Any, progress: Any, lang: str = "en") -> None:
        self.pack, self.progress, self.lang = pack, progress, lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lang, pack = self.lang, self.pack
        ids = [f"{lesson.id}/{t.id}" for lesson in pack.lessons for t in lesson.tasks]
        records = [self.progress.get(i) for i in ids]
        body: list[Any] = [
            Text(M.course_line(lang, tasks=len(ids), lessons=len(pack.lessons),
                               attempts=sum(r.attempts for r in records), hints=sum(r.hints_used for r in records))),
            Text(""),
            Text(M.course_lessons(lang), style="bold"),
        ]
        for lesson in pack.lessons:
            body.append(Text("  ✓ " + lesson.title.get(lang), style="green"))
        body.append(Text(""))
        body.append(Text(M.well_done(lang), style="bold green"))
        title = Text(M.course_done(lang, title=pack.meta.title.get(lang)), style="bold green")
        yield Panel(Group(*body), title=title, title_align="left", border_style="green")


def _indented(summary: str) -> Any:
    from rich.padding import Padding

    return Padding(markdown(summary), (0, 0, 0, 4))
