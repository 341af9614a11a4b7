"""Orders: the request and its validation, intake, the state machine and its moves,
fulfilment, reads, and audited patient data."""
