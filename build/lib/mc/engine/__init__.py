"""The session engine: one Backend interface, a local implementation over docker."""
