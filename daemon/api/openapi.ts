// The OpenAPI 3.1 document of the API, built from the same schemas the routes check bodies with.
import { SCHEMAS, type SchemaName } from '../common/bodies.ts';
import { VERSION } from '../version.ts';
import { PROXMOX_OPENAPI_ROUTES } from './proxmox-routes.ts';

interface Route { method: 'get' | 'post' | 'put' | 'delete'; path: string; summary: string; body?: SchemaName; query?: Record<string, string> }

const ROUTES: Route[] = [
  { method: 'get', path: '/v1/status', summary: 'Proves the secret and reports the version (TestConnection)' },
  { method: 'post', path: '/v1/tick', summary: 'Runs one scheduler pass (the AfterCronJob hook)' },
  { method: 'post', path: '/v1/services', summary: 'CreateAccount: writes the service and its deploy chain', body: 'CreateService' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/suspend', summary: 'SuspendAccount', body: 'SuspendService' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/unsuspend', summary: 'UnsuspendAccount', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/terminate', summary: 'TerminateAccount', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/change-package', summary: 'ChangePackage (the mode is locked)', body: 'ChangePackage' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/change-password', summary: 'ChangePassword', body: 'ChangePassword' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/redeploy', summary: 'Redeploy (hard reset)', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/verify-repair', summary: 'Verify & Repair', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/force-terminate', summary: 'Force terminate (a node is gone)', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/sync-usage', summary: 'Sync usage now', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/start', summary: 'Start the VM of a KVM service', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/stop', summary: 'Stop the VM of a KVM service (a shutdown, then a hard stop)', body: 'Empty' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/reset-status', summary: 'Set a KVM service\'s state by hand (active, failed, suspended); nothing on the cluster changes', body: 'ResetStatus' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/actions/reboot', summary: 'Reboot the VM of a KVM service (stop, start, verify)', body: 'Empty' },
  { method: 'get', path: '/v1/services/{whmcs_service_id}/backups', summary: 'A VM\'s backup days, the number of backups kept, and its backup and restore runs' },
  { method: 'put', path: '/v1/services/{whmcs_service_id}/backup-days', summary: 'The weekdays (UTC) a VM is backed up on; [] stops scheduled backups', body: 'VmBackupDays' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/backups/restore', summary: 'Queue the restore of one of the VM\'s backups (the restore-backup job runs it)', body: 'VmRestore' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/panel', summary: 'The customer\'s VM panel: one tab\'s HTML for the WHMCS client area', body: 'VmPanel' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/panel/actions', summary: 'An action of the customer\'s VM panel (power, snapshots, backups, reinstall, rDNS, ISO, firewall, password), queued', body: 'VmPanelAction' },
  { method: 'get', path: '/v1/services/{whmcs_service_id}/panel/live', summary: 'The VM\'s live figures and the running action\'s progress, for the panel\'s refresh', query: { client_id: 'the WHMCS client asking (optional)' } },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/console', summary: 'A one-time link to the VM\'s browser console (opens once, for console.link_ttl_s seconds)', body: 'ConsoleLink' },
  { method: 'get', path: '/v1/services/{whmcs_service_id}', summary: 'State, deployment progress and recent activity' },
  { method: 'get', path: '/v1/services/{whmcs_service_id}/view', summary: 'Rendered client or admin fragment', query: { audience: 'client | admin' } },
  { method: 'get', path: '/v1/usage', summary: 'Usage per service (UsageUpdate, MetricProvider)', query: { whmcs_service_ids: 'comma-separated WHMCS service ids' } },
  { method: 'get', path: '/v1/accounts', summary: 'Accounts for Server Sync (ListAccounts)' },
  { method: 'get', path: '/v1/server-groups', summary: 'Server groups (ConfigOptions loader)' },
  { method: 'post', path: '/v1/server-groups', summary: 'Create a server group', body: 'ServerGroup' },
  { method: 'put', path: '/v1/server-groups/{group_id}', summary: 'Replace the given parts of a server group', body: 'ServerGroup' },
  { method: 'get', path: '/v1/server-groups/{group_id}/hestia-config', summary: 'The hestia.conf keys the group manages, the catalogue, and the last Apply per server and key' },
  { method: 'put', path: '/v1/server-groups/{group_id}/hestia-config', summary: 'Set managed hestia.conf keys (null: not managed); keys left out keep theirs', body: 'HestiaConfig' },
  { method: 'post', path: '/v1/server-groups/{group_id}/apply-hestia-config', summary: 'Apply Hestia config to all / web / mail / DNS servers of the group: one queued task per HestiaCP server', body: 'ApplyHestiaConfig' },
  { method: 'get', path: '/v1/servers', summary: 'Fleet servers (credentials never shown)' },
  { method: 'post', path: '/v1/servers', summary: 'Add a server', body: 'Server' },
  { method: 'get', path: '/v1/servers/{server_id}', summary: 'One server' },
  { method: 'put', path: '/v1/servers/{server_id}', summary: 'Edit a server (a credential left out is kept)', body: 'Server' },
  { method: 'delete', path: '/v1/servers/{server_id}', summary: 'Remove a server that holds no accounts' },
  { method: 'post', path: '/v1/servers/{server_id}/redeploy-zones', summary: 'Publish every zone and vanity record this DNS server should hold again', body: 'Empty' },
  { method: 'get', path: '/v1/dns-zones', summary: 'Each zone\'s deploy state on each DNS server', query: { server_id: 'one server only' } },
  ...(PROXMOX_OPENAPI_ROUTES as readonly Route[]),
  { method: 'post', path: '/v1/services/{whmcs_service_id}/hosting-panel', summary: 'The customer\'s hosting panel: one tab\'s HTML for the WHMCS client area { client_id, tab, base?, token? } → { html, refresh_s }' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/hosting-panel/actions', summary: 'An action of the hosting panel { client_id, action, fields } → { message, chain_id }, or the refusal in the customer\'s words' },
  { method: 'get', path: '/v1/services/{whmcs_service_id}/hosting-panel/live', summary: 'The hosting panel\'s live progress of the running action', query: { client_id: 'the WHMCS client logged in' } },
  { method: 'get', path: '/v1/services/{whmcs_service_id}/ssl', summary: 'The service\'s certificates per role: state, last check, served certificate, custom certificate' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/ssl/check', summary: 'Issue / Renew now: check the role\'s certificates (or all) at once; lifts a freeze. Body { role?: web|mail, actor? }' },
  { method: 'post', path: '/v1/services/{whmcs_service_id}/ssl/actions', summary: 'The customer\'s SSL actions from WHMCS: { action: renew|upload-custom|remove-custom, role: web|mail, fields: { certificate, private_key, chain }, actor }' },
  { method: 'get', path: '/v1/hosting-plans', summary: 'Hosting plan profiles: package limits and web templates (the Hosting plan setting\'s loader)' },
  { method: 'post', path: '/v1/hosting-plans', summary: 'Add a hosting plan profile { name, web: {domains, aliases, databases, cron_jobs, ftp_accounts, bandwidth_mb, disk_mb, backups, template, backend_template, proxy_template}, dns: {records, template}, mail: {domains, accounts, disk_mb, backups}, unified: {backups} }' },
  { method: 'get', path: '/v1/hosting-plans/{plan_id}', summary: 'One hosting plan profile and how many live services were built from it' },
  { method: 'put', path: '/v1/hosting-plans/{plan_id}', summary: 'Replace a hosting plan profile (fields left out take their defaults)' },
  { method: 'delete', path: '/v1/hosting-plans/{plan_id}', summary: 'Remove a hosting plan profile no live service uses' },
  { method: 'get', path: '/v1/ip-pools', summary: 'IP pools with their used and free counts' },
  { method: 'post', path: '/v1/ip-pools', summary: 'Add an IPv4 or IPv6 pool of a cluster, node, bridge and VLAN', body: 'IpPool' },
  { method: 'get', path: '/v1/ip-pools/{pool_id}', summary: 'One pool' },
  { method: 'put', path: '/v1/ip-pools/{pool_id}', summary: 'Edit a pool', body: 'IpPool' },
  { method: 'delete', path: '/v1/ip-pools/{pool_id}', summary: 'Remove a pool that holds no allocated address' },
  { method: 'get', path: '/v1/ip-pools/{pool_id}/addresses', summary: 'Who holds each address of a pool' },
  { method: 'post', path: '/v1/ip-pools/{pool_id}/reservations', summary: 'Reserve an address (never handed out)', body: 'IpReservation' },
  { method: 'delete', path: '/v1/ip-pools/{pool_id}/reservations/{ip}', summary: 'Give a reserved address back to the pool' },
  { method: 'get', path: '/v1/kvm-profiles', summary: 'KVM product profiles (the KVM profile setting\'s loader)' },
  { method: 'post', path: '/v1/kvm-profiles', summary: 'Add a KVM product profile', body: 'KvmProfile' },
  { method: 'get', path: '/v1/kvm-profiles/{profile_id}', summary: 'One profile' },
  { method: 'put', path: '/v1/kvm-profiles/{profile_id}', summary: 'Replace a profile', body: 'KvmProfile' },
  { method: 'delete', path: '/v1/kvm-profiles/{profile_id}', summary: 'Remove a profile no service uses' },
  { method: 'post', path: '/v1/ui-links', summary: 'A short-lived signed link to the pages: a client link opens one service\'s page, an admin link an admin session', body: 'UiLink' },
  { method: 'get', path: '/v1/admin/view', summary: 'Rendered admin page for the addon', query: { page: 'overview' } },
  { method: 'post', path: '/v1/admin/pages', summary: 'A daemon admin page for the WHMCS addon, as the WHMCS admin named in the body (docs/ui.md)' },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document' },
];

const error = { description: 'Refused: {"error": "...", "field": "..."}', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of ROUTES) {
    // An id is a positive integer; a name (a node, a bridge, an address) is text.
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: m[1]!.endsWith('_id') ? { type: 'integer', minimum: 1 } : { type: 'string' } }));
    for (const [name, description] of Object.entries(r.query ?? {})) params.push({ name, in: 'query', required: false, description, schema: { type: 'string' } } as never);
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      security: [{ hmac: [] }],
      ...(params.length ? { parameters: params } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${r.body}` } } } } } : {}),
      responses: { 200: { description: 'Done: {"ok": true, ...}' }, 400: error, 401: error, 404: error, 409: error, 413: error, 422: error },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'hostbridge daemon API', version: VERSION, description: 'Every call but /healthz is signed: see docs/api.md.' },
    paths: { '/healthz': { get: { summary: 'Liveness and database reachability (unsigned)', responses: { 200: { description: 'up' }, 503: { description: 'database down' } } } }, ...paths },
    components: {
      schemas: { ...SCHEMAS, Error: { type: 'object', required: ['error'], properties: { error: { type: 'string' }, field: { type: 'string' } } } },
      securitySchemes: { hmac: { type: 'apiKey', in: 'header', name: 'X-Hostbridge-Signature', description: 'v1=HMAC-SHA256 with X-Hostbridge-Timestamp and X-Hostbridge-Nonce' } },
    },
  };
}
