"""``tutor doctor``: what protects this machine's grading, and what grading records."""

from __future__ import annotations

import platform

from tutor.i18n import Message, resolve_lang

M_TITLE = Message(en="Sandbox layers on this machine:", zh="本机的沙箱防护层：")
M_ALWAYS = Message(
    en="Always: a separate process in its own session, killed as a whole on timeout; a scrubbed environment;"
    " a scratch working directory; audit-hook refusals; comparisons in the grader only.",
    zh="始终启用：独立的进程与会话，超时时整体杀死；清空的环境变量；临时工作目录；审计钩子拒绝；所有比较只在评分进程中进行。",
)
M_DEVICE = Message(en="Device {device}: {state}", zh="设备 {device}：{state}")


def report(device: str, lang: str | None) -> str:
    import torch

    from tutor import __version__
    from tutor.jail import layers

    language = resolve_lang(lang)
    lines = [M_TITLE(language)]
    for name, state in layers.probe().items():
        lines.append(f"  {name:10} {state}")
    lines.append(M_ALWAYS(language))
    cuda = "available" if torch.cuda.is_available() else "not available"
    lines.append(M_DEVICE(language, device="cuda", state=cuda))
    lines.append(f"tutor {__version__}, torch {torch.__version__}, Python {platform.python_version()}, {platform.system()} {platform.release()}")
    return "\n".join(lines)
