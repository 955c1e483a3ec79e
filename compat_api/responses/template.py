"""The `template` response object: one per template and zone."""

from __future__ import annotations

from typing import Any

from compat_api import shapes
from compat_api.caller import Caller, pretty_path
from compat_api.responses.javamap import java_hash_map
from schema_bridge.catalog import PROJECT_ACCOUNT_TYPE, StoreCopy, TemplateExtras

SHAPE = shapes.of("listTemplates")


def _copies_in_zone(row: Any, extras: TemplateExtras) -> list[StoreCopy]:
    """Copies on the row's zone's image stores (or regional ones)."""
    return [c for c in extras.copies if c.zone_id is None or c.zone_id == row.zone_id]


def _chosen(copies: list[StoreCopy]) -> StoreCopy | None:
    """The copy the row describes: a Ready one when there is one."""
    ready = [c for c in copies if c.state == "Ready"]
    found = ready or copies
    return found[0] if found else None


def status(row: Any, copy: StoreCopy | None) -> str:
    """The download status text CloudStack derives from the image-store copy."""
    download_state = copy.download_state if copy else None
    if download_state == "DOWNLOADED":
        return "Download Complete"
    if download_state == "DOWNLOAD_IN_PROGRESS":
        pct = copy.download_pct if copy else 0
        return "Installing Template" if pct == 100 else f"{pct}% Downloaded"
    if download_state == "BYPASSED":
        return "Bypassed Secondary Storage"
    if copy is not None and copy.error_str is not None:
        return copy.error_str.strip()
    return str(row.state)


def _download_details(copies: list[StoreCopy], full: bool) -> list[dict[str, str]]:
    """One map per image-store copy; the store's uuid and role for root admins only."""
    out = []
    for copy in copies:
        entry = {"datastore": copy.store_name}
        if full:
            entry.update(datastoreId=copy.store_uuid, datastoreRole=copy.store_role)
        entry["downloadPercent"] = str(copy.download_pct or 0)
        entry["downloadState"] = copy.download_state or ""
        # A HashMap each upstream, so its keys come out in hash order.
        out.append(dict(java_hash_map(entry)))
    return out


def checksum(value: str | None) -> str | None:
    """Checksums may be stored as `{ALGORITHM}hex`; clients see only the hex."""
    if value and value.startswith("{") and "}" in value:
        return value.split("}", 1)[1]
    return value


def _owner(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_ACCOUNT_TYPE
    return {
        "accountid": row.account_uuid,
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }


def _flags(row: Any) -> dict[str, Any]:
    system = row.type == "SYSTEM"
    return {
        "ispublic": bool(row.public),
        "isfeatured": bool(row.featured),
        "crossZones": bool(row.cross_zones),
        "isextractable": bool(row.extractable) and not system,
        "passwordenabled": bool(row.enable_password),
        "sshkeyenabled": bool(row.enable_sshkey),
        "isdynamicallyscalable": bool(row.dynamically_scalable),
        "directdownload": bool(row.direct_download),
        "deployasis": bool(row.deploy_as_is),
        "requireshvm": bool(row.hvm),
        "bits": int(row.bits or 0),
    }


def present(
    row: Any, extras: TemplateExtras, caller: Caller, tags: list[dict[str, Any]]
) -> dict[str, Any]:
    full = caller.is_root_admin
    copies = _copies_in_zone(row, extras)
    copy = _chosen(copies)
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name,
        "displaytext": row.display_text,
        "created": copy.created if copy else None,
        "isready": row.format == "BAREMETAL" or (copy is not None and copy.state == "Ready"),
        "format": row.format,
        "ostypeid": row.os_uuid,
        "ostypename": row.os_name,
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "size": copy.size if copy and copy.size and copy.size > 0 else None,
        "physicalsize": copy.physical_size if copy and (copy.physical_size or 0) > 0 else None,
        "templatetype": row.type,
        "hypervisor": row.hypervisor_type,
        "checksum": checksum(row.checksum),
        "sourcetemplateid": row.source_uuid,
        "templatetag": row.template_tag,
        # Upstream's default details view always carries the map, empty or not; the 4.21
        # deploy wizard reads keys from it.
        "details": java_hash_map(extras.details),
        "downloaddetails": _download_details(copies, full),
        "arch": row.arch,
        "parenttemplateid": row.parent_uuid,
        "childtemplates": [],
        "tags": tags,
        "hasannotations": False,
        **_owner(row),
        **_flags(row),
    }
    # Download status and source URL: root admins, the owner, and project templates only.
    if full or row.account_id == caller.account_id or int(row.account_type) == PROJECT_ACCOUNT_TYPE:
        values.update(status=status(row, copy), url=row.url)
    return SHAPE.build(values)
