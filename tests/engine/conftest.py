"""Engine tests drive the live API server of tests/compat_api (same fixtures)."""

from tests.compat_api.conftest import api, fresh_simulators

__all__ = ["api", "fresh_simulators"]
