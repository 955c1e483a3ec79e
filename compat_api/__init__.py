"""compat_api: the CloudStack query API, spoken exactly, on aiohttp."""
