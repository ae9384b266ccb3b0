"""``python -m scheduler`` is the ``clustersim`` command."""

from scheduler.cli import main

raise SystemExit(main())
