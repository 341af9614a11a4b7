"""The ``rxdispatch`` command line: one module per command group."""
