"""What a command handler is given: the caller, the database and the server's state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from compat_api.caller import Caller

if TYPE_CHECKING:
    from compat_api.async_jobs import EngineHandle
    from compat_api.config_cache import ServerConfig
    from compat_api.registry import Command, Registry
    from compat_api.settings import Settings
    from schema_bridge.db import Database


@dataclass(frozen=True)
class CallContext:
    caller: Caller
    db: Database
    command: Command
    registry: Registry
    config: ServerConfig
    request_id: str
    http_method: str
    # Server settings (the encryption key for stored secrets); None where a context is built
    # outside a running server.
    settings: Settings | None = None
    # This process's job runner, for async commands; None when the engine is not running.
    engine: EngineHandle | None = None
    # The request's parameters as sent (async jobs store them as CloudStack does).
    raw_params: Mapping[str, str] = field(default_factory=dict)
    # listApis with a legacy server: legacy's entries for this caller, to merge with ours.
    legacy_apis: tuple[Mapping[str, Any], ...] = ()
