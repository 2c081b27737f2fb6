"""tutor: a terminal tutor and automated grader for PyTorch fundamentals.

Kept import-free: the sandbox's worker imports ``tutor.jail`` through this
package, and ``tutor list`` must not pay for anything it does not use.
"""

__version__ = "0.1.0"

# The name on package indexes (the import name and the command stay `tutor`);
# `torch-tutor` on PyPI is an unrelated project. See the README's CI section.
DISTRIBUTION = "pytorch-terminal-tutor"
