"""The audit trail: the hash chain (pure) and its reads."""
