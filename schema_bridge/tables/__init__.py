"""SQLAlchemy Core Tables for every table of the legacy CloudStack `cloud` schema.

All 305 tables live in `legacy_metadata`, built from the shipped facts; `table(name)` finds any
of them. The tables the project uses most are module attributes named exactly like the table,
including `user` (a valid Python name; it shadows nothing), so `from schema_bridge.tables import
vm_instance, user` works.
"""

from __future__ import annotations

from sqlalchemy import Table

from schema_bridge.facts import load_schema_facts
from schema_bridge.tables import ddl
from schema_bridge.tables.build import build_metadata
from schema_bridge.tables.columns import LEGACY_INFO_KEY

ddl.install()

legacy_metadata = build_metadata(load_schema_facts())


def table(name: str) -> Table:
    """The legacy table called `name` (KeyError if the schema has no such table)."""
    return legacy_metadata.tables[name]


version = table("version")
domain = table("domain")
domain_details = table("domain_details")
account = table("account")
account_details = table("account_details")
user = table("user")
roles = table("roles")
role_permissions = table("role_permissions")
projects = table("projects")
project_account = table("project_account")
region = table("region")
configuration = table("configuration")
configuration_group = table("configuration_group")
configuration_subgroup = table("configuration_subgroup")
sequence = table("sequence")
mshost = table("mshost")
op_lock = table("op_lock")
op_it_work = table("op_it_work")
alert = table("alert")
data_center = table("data_center")
data_center_details = table("data_center_details")
host_pod_ref = table("host_pod_ref")
cluster = table("cluster")
cluster_details = table("cluster_details")
host = table("host")
host_details = table("host_details")
host_tags = table("host_tags")
op_host = table("op_host")
op_host_capacity = table("op_host_capacity")
storage_pool = table("storage_pool")
storage_pool_details = table("storage_pool_details")
storage_pool_host_ref = table("storage_pool_host_ref")
image_store = table("image_store")
image_store_details = table("image_store_details")
guest_os = table("guest_os")
guest_os_category = table("guest_os_category")
guest_os_hypervisor = table("guest_os_hypervisor")
hypervisor_capabilities = table("hypervisor_capabilities")
vm_template = table("vm_template")
vm_template_details = table("vm_template_details")
template_zone_ref = table("template_zone_ref")
template_store_ref = table("template_store_ref")
template_spool_ref = table("template_spool_ref")
launch_permission = table("launch_permission")
service_offering = table("service_offering")
service_offering_details = table("service_offering_details")
disk_offering = table("disk_offering")
disk_offering_details = table("disk_offering_details")
vm_instance = table("vm_instance")
user_vm = table("user_vm")
user_vm_details = table("user_vm_details")
domain_router = table("domain_router")
instance_group = table("instance_group")
instance_group_vm_map = table("instance_group_vm_map")
affinity_group = table("affinity_group")
affinity_group_vm_map = table("affinity_group_vm_map")
ssh_keypairs = table("ssh_keypairs")
user_data = table("user_data")
vm_snapshots = table("vm_snapshots")
volumes = table("volumes")
volume_details = table("volume_details")
volume_store_ref = table("volume_store_ref")
snapshots = table("snapshots")
snapshot_store_ref = table("snapshot_store_ref")
physical_network = table("physical_network")
physical_network_traffic_types = table("physical_network_traffic_types")
physical_network_isolation_methods = table("physical_network_isolation_methods")
virtual_router_providers = table("virtual_router_providers")
physical_network_service_providers = table("physical_network_service_providers")
network_offerings = table("network_offerings")
ntwk_offering_service_map = table("ntwk_offering_service_map")
network_offering_details = table("network_offering_details")
networks = table("networks")
network_details = table("network_details")
ntwk_service_map = table("ntwk_service_map")
op_networks = table("op_networks")
account_network_ref = table("account_network_ref")
domain_network_ref = table("domain_network_ref")
nics = table("nics")
nic_details = table("nic_details")
nic_secondary_ips = table("nic_secondary_ips")
vlan = table("vlan")
account_vlan_map = table("account_vlan_map")
domain_vlan_map = table("domain_vlan_map")
pod_vlan_map = table("pod_vlan_map")
user_ip_address = table("user_ip_address")
op_dc_ip_address_alloc = table("op_dc_ip_address_alloc")
op_dc_vnet_alloc = table("op_dc_vnet_alloc")
vpc = table("vpc")
vpc_offerings = table("vpc_offerings")
firewall_rules = table("firewall_rules")
firewall_rules_cidrs = table("firewall_rules_cidrs")
port_forwarding_rules = table("port_forwarding_rules")
load_balancing_rules = table("load_balancing_rules")
security_group = table("security_group")
security_group_rule = table("security_group_rule")
security_group_vm_map = table("security_group_vm_map")
network_acl = table("network_acl")
network_acl_item = table("network_acl_item")
network_acl_item_cidrs = table("network_acl_item_cidrs")
async_job = table("async_job")
async_job_join_map = table("async_job_join_map")
vm_work_job = table("vm_work_job")
sync_queue = table("sync_queue")
sync_queue_item = table("sync_queue_item")
event = table("event")
usage_event = table("usage_event")
usage_event_details = table("usage_event_details")
resource_tags = table("resource_tags")
resource_count = table("resource_count")
resource_limit = table("resource_limit")

__all__ = [
    "LEGACY_INFO_KEY",
    "account",
    "account_details",
    "account_network_ref",
    "account_vlan_map",
    "affinity_group",
    "affinity_group_vm_map",
    "alert",
    "async_job",
    "async_job_join_map",
    "cluster",
    "cluster_details",
    "configuration",
    "configuration_group",
    "configuration_subgroup",
    "data_center",
    "data_center_details",
    "disk_offering",
    "disk_offering_details",
    "domain",
    "domain_details",
    "domain_network_ref",
    "domain_router",
    "domain_vlan_map",
    "event",
    "firewall_rules",
    "firewall_rules_cidrs",
    "guest_os",
    "guest_os_category",
    "guest_os_hypervisor",
    "host",
    "host_details",
    "host_pod_ref",
    "host_tags",
    "hypervisor_capabilities",
    "image_store",
    "image_store_details",
    "instance_group",
    "instance_group_vm_map",
    "launch_permission",
    "legacy_metadata",
    "load_balancing_rules",
    "mshost",
    "network_acl",
    "network_acl_item",
    "network_acl_item_cidrs",
    "network_details",
    "network_offering_details",
    "network_offerings",
    "networks",
    "nic_details",
    "nic_secondary_ips",
    "nics",
    "ntwk_offering_service_map",
    "ntwk_service_map",
    "op_dc_ip_address_alloc",
    "op_dc_vnet_alloc",
    "op_host",
    "op_host_capacity",
    "op_it_work",
    "op_lock",
    "op_networks",
    "physical_network",
    "physical_network_isolation_methods",
    "physical_network_service_providers",
    "physical_network_traffic_types",
    "pod_vlan_map",
    "port_forwarding_rules",
    "project_account",
    "projects",
    "region",
    "resource_count",
    "resource_limit",
    "resource_tags",
    "role_permissions",
    "roles",
    "security_group",
    "security_group_rule",
    "security_group_vm_map",
    "sequence",
    "service_offering",
    "service_offering_details",
    "snapshot_store_ref",
    "snapshots",
    "ssh_keypairs",
    "storage_pool",
    "storage_pool_details",
    "storage_pool_host_ref",
    "sync_queue",
    "sync_queue_item",
    "table",
    "template_spool_ref",
    "template_store_ref",
    "template_zone_ref",
    "usage_event",
    "usage_event_details",
    "user",
    "user_data",
    "user_ip_address",
    "user_vm",
    "user_vm_details",
    "version",
    "virtual_router_providers",
    "vlan",
    "vm_instance",
    "vm_snapshots",
    "vm_template",
    "vm_template_details",
    "vm_work_job",
    "volume_details",
    "volume_store_ref",
    "volumes",
    "vpc",
    "vpc_offerings",
]
