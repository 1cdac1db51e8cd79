/**
 * Service types fedledger knows by name. The GOCDB types of a cloud
 * VM-management interface form the FedCloud `cloud` group; the collector's
 * own reachability check has a type of its own in the same group (OR), so a
 * site monitored only by fedledger's collector still has an availability,
 * and a site without a collector is not made MISSING by its absence.
 */
export const OPENSTACK_SERVICE = 'org.openstack.nova';
export const OPENNEBULA_SERVICE = 'eu.egi.cloud.vm-management.occi';
/** GOCDB-registered VM-management interfaces: what makes a resource centre's cloud "registered". */
export const CLOUD_SERVICE_TYPES = [OPENSTACK_SERVICE, OPENNEBULA_SERVICE] as const;

/** The VM manager's API as a collector sees it (registered by the collector itself, not GOCDB). */
export const COLLECTOR_SERVICE = 'org.fedledger.vmm-api';
export const COLLECTOR_METRIC = 'org.fedledger.Collector-API';
