"""The puzzles' own rule: each answer fits in one line of fewer than 80 columns.

A custom check marked `rule: true` (it judges how the learner writes, so the
reference is not held to it) and `scope: task` (it reads the source once and is
reported once, not once per case). `options` comes from the lesson file.
"""


def line_width(ctx, options):
    limit = int(options["max_columns"])
    for number, line in enumerate(ctx.source.splitlines(), 1):
        if len(line) > limit:
            if ctx.lang == "zh":
                return f"第 {number} 行有 {len(line)} 列；这些谜题每行最多 {limit} 列。"
            return f"Line {number} is {len(line)} columns wide; these puzzles allow at most {limit}."
    return None
