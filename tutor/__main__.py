"""``python -m tutor``: the same as the ``tutor`` command."""

from tutor.entry import main

main()
