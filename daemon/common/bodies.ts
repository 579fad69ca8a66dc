// JSON schemas of every request body, checked by ajv before anything acts on it (API routes, the
// CLI, the pages' forms, the service writes). The same schemas produce the OpenAPI document
// (api/openapi.ts), so the contract and the checks cannot drift.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { InputError } from './errors.ts';
import { LINK_PAGE_PATTERN } from './link-pages.ts';

const id = { type: 'integer', minimum: 1, maximum: 2147483647 } as const;
const text = (max: number, extra: Record<string, unknown> = {}) => ({ type: 'string', maxLength: max, ...extra });
/** No control characters: nothing a log line, a conf file or a remote command could trip on. */
const PLAIN = '^[^\\u0000-\\u001f\\u007f]*$';
const plain = (max: number) => text(max, { pattern: PLAIN });
const scalarMap = {
  type: 'object', maxProperties: 100, propertyNames: { maxLength: 255 },
  additionalProperties: { type: ['string', 'number', 'boolean'], maxLength: 1024 },
} as const;
const productOptions = {
  type: 'object', additionalProperties: false,
  patternProperties: { '^configoption([1-9]|1[0-9]|2[0-4])$': plain(1024) },
} as const;
const password = { ...plain(128), minLength: 1 } as const;
/** A host name: dot-separated labels of 1–63 letters, digits and inner "-", at most 253 in all. */
const hostname = text(253, { pattern: '^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$' });
const empty = { type: 'object', additionalProperties: false, properties: {} } as const;

export const SCHEMAS = {
  CreateService: {
    type: 'object', additionalProperties: false,
    // server_group_id: a hosting product's group (configoption2); a KVM product's profile names its cluster instead.
    required: ['whmcs_service_id', 'client_id', 'product_id', 'password', 'product'],
    properties: {
      whmcs_service_id: id,
      client_id: { type: 'integer', minimum: 0, maximum: 2147483647 },
      product_id: id,
      domain: plain(253),
      username: plain(64),
      password,
      email: plain(191),
      server_group_id: { ...id, type: ['integer', 'null'] },
      product: productOptions,
      config_options: scalarMap,
      custom_fields: scalarMap,
    },
  },
  SuspendService: { type: 'object', additionalProperties: false, properties: { reason: plain(1024) } },
  ChangePackage: {
    type: 'object', additionalProperties: false, required: ['product'],
    properties: { product_id: id, product: productOptions, config_options: scalarMap, custom_fields: scalarMap },
  },
  ChangePassword: { type: 'object', additionalProperties: false, required: ['password'], properties: { password } },
  Empty: empty,
  // Seed 003's "Reset VM Status": the service's state set by hand, nothing else touched.
  ResetStatus: { type: 'object', additionalProperties: false, required: ['state'], properties: { state: { enum: ['active', 'failed', 'suspended'] } } },
  Server: {
    type: 'object', additionalProperties: false, required: ['name', 'driver', 'hostname', 'ip'],
    properties: {
      name: { ...plain(191), minLength: 1 },
      driver: { enum: ['hestiacp', 'powerdns'] },
      hostname,
      ip: text(45, { pattern: '^(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})\\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]{1,2})$|^[0-9A-Fa-f:]{2,45}$' }),
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      username: text(32, { pattern: '^[a-z_][a-z0-9_-]{0,31}$' }),
      password: plain(1024),
      private_key: text(16384),
      api_key: plain(1024),
      host_key_sha256: text(128, { pattern: '^SHA256:[A-Za-z0-9+/]{43}=?$' }),
      hestia_bin: text(255, { pattern: '^/[A-Za-z0-9._/-]{1,254}$' }),
      capabilities: {
        type: 'object', additionalProperties: false,
        properties: { web: { type: 'boolean' }, mail: { type: 'boolean' }, dns: { type: 'boolean' } },
      },
      status: { enum: ['active', 'disabled', 'maintenance'] },
      max_accounts: { type: 'integer', minimum: 0, maximum: 1000000 },
    },
  },
  ServerGroup: {
    type: 'object', additionalProperties: false, required: ['name'],
    properties: {
      name: { ...plain(191), minLength: 1 },
      nameservers: { type: 'array', maxItems: 8, items: hostname },
      servers: { type: 'array', maxItems: 1000, uniqueItems: true, items: id },
      dns_servers: { type: 'array', maxItems: 100, uniqueItems: true, items: id },
      vanity_domains: {
        type: 'array', maxItems: 1000,
        items: {
          type: 'object', additionalProperties: false, required: ['domain'],
          properties: {
            domain: plain(253),
            mail_server_id: id,
            mail_user: text(30, { pattern: '^[A-Za-z][-_A-Za-z0-9]{0,28}[A-Za-z0-9]$' }),
            dns_user: text(30, { pattern: '^[A-Za-z][-_A-Za-z0-9]{0,28}[A-Za-z0-9]$' }),
          },
        },
      },
      reserved_names: { type: 'array', maxItems: 10000, items: text(63, { pattern: '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$' }) },
    },
  },
  IpPool: { type: 'object', additionalProperties: false, required: ['name', 'cluster_id', 'bridge', 'network'], properties: { name: { ...plain(191), minLength: 1 }, cluster_id: id, node: { type: ['string', 'null'], maxLength: 63, pattern: '^$|^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$' }, bridge: text(15, { pattern: '^[A-Za-z][A-Za-z0-9_.-]{0,14}$' }), vlan: { type: ['integer', 'null'], minimum: 1, maximum: 4094 }, family: { enum: [4, 6] }, network: text(49, { pattern: PLAIN }), ranges: { type: 'array', maxItems: 64, items: text(100, { pattern: PLAIN }) }, gateway: { type: ['string', 'null'], maxLength: 45, pattern: PLAIN }, prefix: { type: 'integer', minimum: 1, maximum: 128 }, resolvers: { type: 'array', maxItems: 8, items: text(45, { pattern: PLAIN }) }, enabled: { type: 'boolean' } } },
  IpReservation: { type: 'object', additionalProperties: false, required: ['ip'], properties: { ip: text(45, { pattern: PLAIN }), note: plain(255) } },
  ProxmoxProbe: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: text(253, { pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9A-Fa-f:.]{2,45}$' }), port: { type: 'integer', minimum: 1, maximum: 65535 } } },
  ProxmoxCluster: { type: 'object', additionalProperties: false, required: ['name', 'endpoints', 'fingerprint_sha256'], properties: { name: { ...plain(191), minLength: 1 }, endpoints: { type: 'array', minItems: 1, maxItems: 8, items: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: text(253, { pattern: '^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$|^[0-9A-Fa-f:.]{2,45}$' }), port: { type: 'integer', minimum: 1, maximum: 65535 } } } }, fingerprint_sha256: text(95, { pattern: '^(?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$|^[0-9A-Fa-f]{64}$' }), token_id: text(191, { pattern: '^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32}![A-Za-z][A-Za-z0-9._-]{0,63}$' }), token_secret: { ...plain(512), minLength: 1 }, username: text(191, { pattern: '^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32}$' }), password: { ...plain(1024), minLength: 1 }, max_tasks_per_node: { type: 'integer', minimum: 1, maximum: 16 } } },
  ProxmoxStorageRoles: { type: 'object', additionalProperties: false, properties: { templates: { type: 'boolean' }, system: { type: 'boolean' }, additional: { type: 'boolean' }, backups: { type: 'boolean' } } },
  ProxmoxNode: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } },
  ProxmoxBridge: { type: 'object', additionalProperties: false, required: ['vlans'], properties: { vlans: text(4000, { pattern: '^(any|none|)$|^[0-9]{1,4}(-[0-9]{1,4})?(,[0-9]{1,4}(-[0-9]{1,4})?)*$' }) } },
  ProxmoxTemplate: { type: 'object', additionalProperties: false, required: ['slug', 'vmid', 'node', 'storage'], properties: { slug: text(64, { pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }), label: plain(191), vmid: { type: 'integer', minimum: 100, maximum: 999999999 }, node: text(64, { pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?$' }), storage: text(64, { pattern: '^[A-Za-z][A-Za-z0-9._-]{0,63}$' }), cloud_init: { type: 'boolean' }, enabled: { type: 'boolean' } } },
  VmBackupDays: { type: 'object', additionalProperties: false, required: ['days'], properties: { days: { type: 'array', maxItems: 7, items: text(9) } } }, VmRestore: { type: 'object', additionalProperties: false, required: ['volid'], properties: { volid: text(255, { pattern: PLAIN }) } },
  KvmProfile: { type: 'object', additionalProperties: false, required: ['name', 'cluster_id', 'cores', 'memory_mb', 'system_disk', 'network', 'default_os'], properties: { name: text(64), cluster_id: id, node: { type: ['string', 'null'], maxLength: 63 }, cores: { type: 'integer' }, sockets: { type: 'integer' }, cpu_type: { type: ['string', 'null'], maxLength: 64 }, memory_mb: { type: 'integer' }, balloon_mb: { type: ['integer', 'null'] }, system_disk: { type: 'object', additionalProperties: false, required: ['size_gb', 'storage'], properties: { size_gb: { type: 'integer' }, storage: text(64), iops_rd: { type: ['integer', 'null'] }, iops_wr: { type: ['integer', 'null'] }, mbps_rd: { type: ['number', 'null'] }, mbps_wr: { type: ['number', 'null'] } } }, additional_disk: { type: ['object', 'null'], additionalProperties: false, required: ['size_gb'], properties: { size_gb: { type: 'integer' }, storage: text(64), iops_rd: { type: ['integer', 'null'] }, iops_wr: { type: ['integer', 'null'] }, mbps_rd: { type: ['number', 'null'] }, mbps_wr: { type: ['number', 'null'] } } }, network: { type: 'object', additionalProperties: false, required: ['bridge'], properties: { bridge: text(16), vlan: { type: ['integer', 'null'] }, rate_mbps: { type: ['number', 'null'] }, model: text(16) } }, firewall: { type: 'object', additionalProperties: false, properties: { enable: { type: 'boolean' }, dhcp: { type: 'boolean' }, ndp: { type: 'boolean' }, macfilter: { type: 'boolean' }, ipfilter: { type: 'boolean' }, log_level_in: text(16), log_level_out: text(16), policy_in: text(8), policy_out: text(8) } }, ipv4: { type: 'integer' }, ipv6: { type: 'integer' }, os_templates: { type: 'array', maxItems: 100, items: text(64) }, default_os: text(64), clone_mode: text(8), bandwidth_gb: { type: ['integer', 'null'] }, snapshots: { type: 'integer' }, backups: { type: 'integer' }, client_features: { type: 'array', maxItems: 20, items: text(16) }, isos: { type: 'array', maxItems: 100, items: text(255) }, firewall_rules: { type: 'integer' } } },
  // The customer's VM panel (issue 16), asked for by the WHMCS module as the logged-in client: a tab's HTML, an action's form.
  VmPanel: { type: 'object', additionalProperties: false, required: ['client_id', 'tab'], properties: { client_id: id, tab: text(20, { pattern: '^[a-z]{1,20}$' }), base: text(255, { pattern: '^clientarea\\.php\\?[A-Za-z0-9=&_.-]{0,230}$' }), token: text(128, { pattern: '^[A-Za-z0-9]{0,128}$' }), timeframe: { enum: ['hour', 'day', 'week', 'month'] } } },
  VmPanelAction: { type: 'object', additionalProperties: false, required: ['client_id', 'action'], properties: { client_id: id, action: text(40, { pattern: '^[a-z][a-z-]{0,39}$' }), fields: { type: 'object', maxProperties: 20, propertyNames: { maxLength: 40, pattern: '^[a-z][a-z0-9_]{0,39}$' }, additionalProperties: { type: 'string', maxLength: 20000 } } } },
  // A one-time link to a VM's browser console (POST /v1/services/{id}/console): the WHMCS client asking, 0 for an admin.
  ConsoleLink: { type: 'object', additionalProperties: false, required: ['client_id'], properties: { client_id: { type: 'integer', minimum: 0, maximum: 2147483647 } } },
  // A server group's managed hestia.conf keys (PUT /v1/server-groups/{id}/hestia-config): KEY → value, null = not managed; keys left out keep theirs.
  HestiaConfig: { type: 'object', additionalProperties: false, required: ['values'], properties: { values: { type: 'object', maxProperties: 200, propertyNames: { maxLength: 64 }, additionalProperties: { type: ['string', 'null'], maxLength: 100 } } } },
  ApplyHestiaConfig: { type: 'object', additionalProperties: false, required: ['role'], properties: { role: { enum: ['all', 'web', 'mail', 'dns'] } } },
  UiLink: {
    type: 'object', additionalProperties: false, required: ['audience'],
    properties: {
      audience: { enum: ['client', 'admin'] },
      whmcs_service_id: id,
      page: text(40, { pattern: LINK_PAGE_PATTERN }),
    },
  },
} as const;

export type SchemaName = keyof typeof SCHEMAS;

const ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true });
const compiled = new Map<SchemaName, ValidateFunction>();
for (const name of Object.keys(SCHEMAS) as SchemaName[]) compiled.set(name, ajv.compile(SCHEMAS[name]));

function fieldOf(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') path.push(String(e.params.missingProperty));
  if (e.keyword === 'additionalProperties') path.push(String(e.params.additionalProperty));
  return path.join('.');
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': return 'is required';
    case 'additionalProperties': return 'is not a known field';
    case 'type': return `must be ${String(p.type).replace(/,/g, ' or ')}`;
    case 'maxLength': return `must be at most ${p.limit} characters`;
    case 'minLength': return `must be at least ${p.limit} character${p.limit === 1 ? '' : 's'}`;
    case 'minimum': return `must be at least ${p.limit}`;
    case 'maximum': return `must be at most ${p.limit}`;
    case 'enum': return `must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'pattern': return String(p.pattern) === PLAIN ? 'must not contain control characters or line breaks' : 'has characters or a form that is not allowed here';
    case 'maxProperties': return `may have at most ${p.limit} entries`;
    case 'maxItems': return `may have at most ${p.limit} items`;
    case 'uniqueItems': return 'must not list an item twice';
    case 'propertyNames': return 'has a name longer than 255 characters';
    default: return e.message ?? 'is not valid';
  }
}

/** Checks a parsed body against its schema; throws an InputError naming the first bad field. */
export function checkBody<T = Record<string, unknown>>(name: SchemaName, body: unknown): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new InputError('', 'the body must be a JSON object');
  const validate = compiled.get(name)!;
  if (!validate(body)) {
    const e = validate.errors![0]!;
    const field = fieldOf(e);
    throw new InputError(field || '(body)', describe(e));
  }
  return body as T;
}
