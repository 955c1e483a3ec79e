"""Presenters: legacy rows to CloudStack response objects, one module per object."""
