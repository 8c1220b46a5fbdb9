"""``python -m sim`` is the ``hubsim`` command."""

from sim.cli import main

raise SystemExit(main())
