"""Volume lifecycles: create, attach, detach and resize as engine processes."""
