"""Fixtures for loopback storage servers (filled in by the remotes work)."""
