"""Search strategies that ``routing.solve`` wires together, one module each."""
