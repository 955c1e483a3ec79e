"""engine: the new implementation of IaaS subsystems behind the API."""
