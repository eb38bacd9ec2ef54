"""Developer and test tooling: the embedded PostgreSQL used by the local stack and the tests."""
