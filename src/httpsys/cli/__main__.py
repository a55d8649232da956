"""`python -m httpsys.cli`: the `httpsys` command (used by `make run`). It only calls `httpsys.cli.main`."""

from httpsys.cli import main

raise SystemExit(main())
