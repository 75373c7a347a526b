"""Local development tooling: the infrastructure manager, the `ragline` CLI and test fixtures."""
