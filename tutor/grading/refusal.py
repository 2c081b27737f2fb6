"""What the learner is told when their code was refused, in their language.

The rules live where they are enforced, in the sandbox child: the restricted
dialect (``tutor.jail.dialect``) at compile and run time, the audit hook and
the kernel layers. The child reports each refusal as a code (``reason``), what
was asked for (``detail``) and, for what the dialect refused before running
anything, the line; here it is worded for the learner.
"""

from __future__ import annotations

from tutor.i18n import Message

M_LINE = Message(en="Line {line}: {what}.", zh="第 {line} 行：{what}。")
M_RUN_TIME = Message(
    en="The sandbox refused {what}, even if your code caught the error. Exercises only need tensor operations.",
    zh="沙箱拒绝了{what}（即使你的代码捕获了这个错误）。练习只需要张量运算。",
)

# reason code -> what was attempted; {detail} names it.
WHAT: dict[str, Message] = {
    "import": Message(
        en="importing `{detail}`: exercises may import torch, numpy, math and plain helpers"
           " (functools, itertools, operator, collections, dataclasses, typing, re, io.BytesIO…)",
        zh="导入 `{detail}`：练习只能导入 torch、numpy、math 以及简单的辅助模块"
           "（functools、itertools、operator、collections、dataclasses、typing、re、io.BytesIO 等）",
    ),
    "attribute": Message(
        en="reaching `{detail}`, which is inside torch or the interpreter (private and internal names are not for exercises)",
        zh="访问 `{detail}`，它属于 torch 或解释器的内部（练习不能使用私有或内部名称）",
    ),
    "special": Message(
        en="giving a class the special method `{detail}`, which Python or torch would run on its own:"
           " exercise classes define only methods such as `__init__`, `__call__`, `__len__` and `__getitem__`",
        zh="给类定义特殊方法 `{detail}`，Python 或 torch 会自行调用它：练习中的类只需定义"
           " `__init__`、`__call__`、`__len__`、`__getitem__` 这类方法",
    ),
    "builtin": Message(en="using `{detail}`, which exercises do not need", zh="使用 `{detail}`，练习用不到它"),
    "name": Message(en="the name `{detail}`, which is reserved", zh="名称 `{detail}`，它是保留名称"),
    "modify": Message(
        en="changing `{detail}`: exercises may change their own objects, not torch's modules or classes",
        zh="修改 `{detail}`：练习可以修改自己的对象，但不能修改 torch 的模块或类",
    ),
    "write": Message(en="writing `{detail}`, outside the exercise's scratch folder", zh="写入 `{detail}`，它在练习的临时目录之外"),
    "syntax": Message(en="Python syntax the exercises do not use ({detail})", zh="练习不使用的 Python 语法（{detail}）"),
    "read": Message(en="reading `{detail}`, outside the exercise's scratch folder", zh="读取 `{detail}`，它在练习的临时目录之外"),
    "process": Message(en="starting a program or process", zh="启动程序或进程"),
    "network": Message(en="network access", zh="访问网络"),
    "signal": Message(en="signalling another process", zh="向其他进程发送信号"),
    "native": Message(en="loading native code", zh="加载本地代码"),
    "environment": Message(en="changing the environment", zh="修改环境变量"),
    "tamper": Message(en="tampering with the sandbox", zh="篡改沙箱"),
    "frames": Message(en="reading interpreter frames", zh="读取解释器的栈帧"),
    "gc": Message(en="walking the garbage collector", zh="遍历垃圾回收器"),
    "tracing": Message(en="tracing the interpreter", zh="跟踪解释器"),
    "code": Message(en="rewriting code objects", zh="改写代码对象"),
    "memory": Message(en="reaching native memory (ctypes)", zh="访问本地内存（ctypes）"),
}
M_UNKNOWN = Message(en="an action exercises do not need ({detail})", zh="练习不需要的操作（{detail}）")


def what(reason: str, detail: str, lang: str) -> str:
    """The attempt, named for the learner."""
    message = WHAT.get(reason)
    return message(lang, detail=detail) if message else M_UNKNOWN(lang, detail=detail or reason)


def run_time(event: str, reason: str, detail: str, line: int | None, lang: str) -> str:
    """A refusal the sandbox child reported: located when the code was refused before it ran."""
    if line is not None:
        return M_LINE(lang, line=line, what=what(reason, detail, lang))
    return M_RUN_TIME(lang, what=what(reason, detail or event, lang))
