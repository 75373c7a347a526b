"""Pure decisions: desired state and conditions from spec and observations (no I/O)."""
