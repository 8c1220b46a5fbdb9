"""The subcommands behind ``hubsim`` (``sim.cli`` builds the parser and dispatches)."""
