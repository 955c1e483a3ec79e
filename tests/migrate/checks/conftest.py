"""The live API server fixture, for the legacy API check (stackshift plays legacy)."""

from tests.compat_api.conftest import api, fresh_simulators

__all__ = ["api", "fresh_simulators"]
