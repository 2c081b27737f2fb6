"""tutor: a terminal tutor and automated grader for PyTorch fundamentals.

Kept import-free: the sandbox's worker imports ``tutor.jail`` through this
package, and ``tutor list`` must not pay for anything it does not use.
"""

__version__ = "0.1.0"
