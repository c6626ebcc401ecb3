"""The ``hwnas`` command line: one module per command group, no logic beyond parse, call, print."""
