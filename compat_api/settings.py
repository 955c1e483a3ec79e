"""Server settings: command-line and environment, never secrets in logs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from compat_api.shadow_settings import ShadowSettings

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class Settings:
    db_url: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    # CloudStack's db.cloud.encrypt.secret: decrypts user.secret_key and other columns.
    encryption_key: str | None = field(default=None, repr=False)
    # How long an API-key lookup may be served from memory; a disabled user is refused
    # again within this many seconds.
    auth_cache_seconds: float = 1.0
    # How often cached configuration and role rules are re-read.
    config_refresh_seconds: float = 10.0
    management_server_id: str = ""
    debug_log: str | None = None
    # The job runner of each process: worker tasks, and how long a silent process is
    # presumed alive before its jobs are resumed elsewhere.
    engine_enabled: bool = True
    engine_workers: int = 8
    job_dead_after_seconds: float = 15.0
    job_heartbeat_seconds: float = 2.0
    drain_seconds: float = 30.0
    libvirt_uri_template: str = "qemu+tcp://{host_ip}/system"
    # (operation, seconds) delays applied to every Simulator host, for drills and tests.
    simulator_delays: tuple[tuple[str, float], ...] = ()
    # The legacy management server's API URL; /readyz reports whether it answers.
    legacy_url: str | None = None
    # How long a call forwarded to legacy may take in all before the caller gets a 530.
    legacy_timeout_seconds: float = 60.0
    # On SIGTERM, how long to keep serving while /readyz answers 503, so load balancers take
    # the process out of rotation before it stops accepting connections.
    drain_delay_seconds: float = 0.0
    # A CloudStack UI build to serve at /client/ (None: no UI, only the API).
    ui_dir: str | None = None
    # Shadow comparison of read-only calls on routes marked shadow (compat_api/shadow.py).
    shadow: ShadowSettings = field(default_factory=ShadowSettings)

    @staticmethod
    def from_env(db_url: str, **overrides: object) -> Settings:
        env_key = os.environ.get("STACKSHIFT_ENCRYPTION_KEY")
        values: dict[str, object] = {"encryption_key": env_key} if env_key else {}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(db_url=db_url, **values)  # type: ignore[arg-type]
