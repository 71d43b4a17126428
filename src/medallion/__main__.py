"""``python -m medallion`` is the ``medallion`` command."""

from medallion.cli import main

main()
