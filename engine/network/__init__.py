"""Network lifecycles: public IP address association and release as engine processes."""
