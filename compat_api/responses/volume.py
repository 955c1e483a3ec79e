"""The `volume` response object (VolumeResponse).

Root admins get the full view (pool, path, pod and cluster, the display flag); others
the restricted one, as CloudStack's volume view builder decides.
"""

from __future__ import annotations

from typing import Any, Final

from compat_api import shapes
from compat_api.caller import Caller, pretty_path
from compat_api.responses import tag
from schema_bridge.volumes import VolumeRecord

SHAPE = shapes.of("listVolumes")
PROJECT_TYPE: Final = 5
# Volumes in this state are shown with destroyed=true and without their VM.
DESTROY: Final = "Destroy"


def _owner(row: Any) -> dict[str, Any]:
    project = int(row.account_type) == PROJECT_TYPE
    return {
        "account": None if project else row.account_name,
        "projectid": row.project_uuid if project else None,
        "project": row.project_name if project else None,
        "domainid": row.domain_uuid,
        "domain": row.domain_name,
        "domainpath": pretty_path(row.domain_path),
    }


def _vm(row: Any) -> dict[str, Any]:
    if row.instance_id is None or row.state == DESTROY or row.vm_uuid is None:
        return {}
    return {
        "virtualmachineid": row.vm_uuid,
        "vmname": row.vm_name,
        "vmdisplayname": row.vm_display_name or row.vm_name,
        "vmstate": row.vm_state,
        "vmtype": row.vm_type,
    }


def _extractable(row: Any) -> bool:
    """Data disks always; template-based disks only when the template allows it."""
    if row.volume_type == "DATADISK" or row.template_id is None:
        return True
    return bool(row.template_extractable) and row.template_type != "SYSTEM"


def _offerings(row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "diskofferingid": row.disk_offering_uuid,
        "diskofferingname": row.disk_offering_name,
        "diskofferingdisplaytext": row.disk_offering_display_text,
        "diskBytesReadRate": row.bytes_read_rate,
        "diskBytesWriteRate": row.bytes_write_rate,
        "diskIopsReadRate": row.iops_read_rate,
        "diskIopsWriteRate": row.iops_write_rate,
    }
    if row.volume_type == "ROOT":
        values.update(
            serviceofferingid=row.offering_uuid,
            serviceofferingname=row.offering_name,
            serviceofferingdisplaytext=row.offering_display_text,
        )
    return values


def _full(row: Any) -> dict[str, Any]:
    return {
        "storage": row.pool_name,
        "storageid": row.pool_uuid,
        "path": row.path,
        "clusterid": row.cluster_uuid,
        "clustername": row.cluster_name,
        "podid": row.pod_uuid,
        "podname": row.pod_name,
        "displayvolume": bool(row.display_volume),
    }


def present(record: VolumeRecord, caller: Caller) -> dict[str, Any]:
    row = record.row
    hypervisor = row.vm_hypervisor or row.cluster_hypervisor or row.pool_hypervisor
    values: dict[str, Any] = {
        "id": row.uuid,
        "name": row.name or "",
        "zoneid": row.zone_uuid,
        "zonename": row.zone_name,
        "type": row.volume_type,
        "deviceid": row.device_id,
        **_vm(row),
        "isoid": row.iso_uuid,
        "isoname": row.iso_name,
        "isodisplaytext": row.iso_display_text,
        "templateid": row.template_uuid,
        "templatename": row.template_name,
        "templatedisplaytext": row.template_display_text,
        "provisioningtype": row.provisioning_type,
        "size": row.size,
        "miniops": row.min_iops,
        "maxiops": row.max_iops,
        "created": row.created,
        "state": row.state,
        **_owner(row),
        "storagetype": "local" if row.use_local_storage else "shared",
        "hypervisor": hypervisor,
        **_offerings(row),
        "attached": row.attached,
        "destroyed": row.state == DESTROY,
        "isextractable": _extractable(row),
        "chaininfo": row.chain_info,
        "quiescevm": False,
        "supportsstoragesnapshot": False,
        "deleteprotection": bool(row.delete_protection),
        "externaluuid": row.external_uuid,
        "encryptformat": row.encrypt_format,
        "tags": [tag.present(t) for t in record.tags],
        "hasannotations": False,
    }
    if caller.is_root_admin:
        values.update(_full(row))
    if record.job is not None:
        values.update(jobid=record.job.uuid, jobstatus=int(record.job.job_status))
    return SHAPE.build(values)
