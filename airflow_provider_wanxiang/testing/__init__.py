"""Helpers for testing DAGs that use this provider, offline (see :mod:`.pytest_plugin`)."""
