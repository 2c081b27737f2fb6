"""A pack's own check: the result must be sorted ascending."""

import torch


def ascending(ctx, options):
    result = ctx.learner.result
    if not isinstance(result, torch.Tensor) or result.dim() != 1:
        return "expected a 1-D tensor"
    return bool((result[1:] >= result[:-1]).all())
