"""The `user` response object (listUsers, and the users nested in an account)."""

from __future__ import annotations

from typing import Any

from compat_api import shapes

SHAPE = shapes.of("listUsers")
NESTED = shapes.of("listAccounts").child("user")


def user_source(stored: str | None) -> str:
    """CloudStack shows the source in lower case and reports UNKNOWN as native."""
    source = (stored or "UNKNOWN").lower()
    return "native" if source == "unknown" else source


def key_access(flag: bool | None) -> str:
    """The tri-state api_key_access column as the ApiKeyAccess enum constant."""
    if flag is None:
        return "INHERIT"
    return "ENABLED" if flag else "DISABLED"


def values(row: Any, *, caller_domain_id: int | None, full: bool) -> dict[str, Any]:
    """The fields of one user row; the secret key is never among them."""
    return {
        "id": row.uuid,
        "username": row.username,
        "firstname": row.firstname,
        "lastname": row.lastname,
        "email": row.email,
        "created": row.created,
        "state": row.state,
        "account": row.account_name,
        "accounttype": int(row.account_type),
        "usersource": user_source(row.source),
        "roleid": row.role_uuid,
        "roletype": row.role_type,
        "rolename": row.role_name,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "timezone": row.timezone,
        "apikey": row.api_key,
        "accountid": row.account_uuid,
        # Set only when the caller's domain is known and differs from the user's.
        "iscallerchilddomain": caller_domain_id is not None and row.domain_id != caller_domain_id,
        "isdefault": bool(row.default),
        "is2faenabled": bool(row.is_user_2fa_enabled),
        "is2famandated": False,
        "apikeyaccess": key_access(_flag(row.api_key_access)) if full else None,
    }


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def present(row: Any, *, caller_domain_id: int, full: bool) -> dict[str, Any]:
    return SHAPE.build(values(row, caller_domain_id=caller_domain_id, full=full))


def present_nested(row: Any, *, full: bool) -> dict[str, Any]:
    return NESTED.build(values(row, caller_domain_id=None, full=full))
