"""``python -m fastact``: the same CLI as the ``fastact`` command."""

from .tools.cli import main

main()
