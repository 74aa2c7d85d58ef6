"""``python -m fastact``: the same CLI as the ``fastact`` command."""

from .cli import main

main()
