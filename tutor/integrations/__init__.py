"""Ready-made integrations with course platforms, each a file that runs elsewhere.

- ``github_workflow``: ``tutor init --ci github`` writes a GitHub Actions
  workflow into a student workspace that grades on push and reports points
  the way GitHub Classroom reads them.
- ``gradescope_bundle``: ``tutor export gradescope OUT.zip`` builds a
  Gradescope autograder (``setup.sh``, ``run_autograder``, the pack).

The pytest plugin (``pytest --tutor``) lives in ``tutor.pytest_plugin``.
Nothing here imports torch; the scripts these modules write call the
``tutor`` command, and their small helpers (``python -m
tutor.integrations.<module> ...``) read its JSON report.
"""
