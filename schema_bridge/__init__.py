"""schema_bridge: the legacy CloudStack schema, read and written as it is."""
