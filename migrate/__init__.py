"""migrate: operator tooling for checks, cutover, rollback and upgrades."""
