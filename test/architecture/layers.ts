// The daemon's layers and the import rules between them, in one place: docs/architecture.md
// draws the same table, and imports.test.ts holds every source file to it.
// A folder (or top-level file) of daemon/ may import its own layer and the layers below it,
// never one above. Several folders share a layer when neither needs the other.

export const LAYERS: ReadonlyArray<{ rank: number; units: readonly string[]; holds: string }> = [
  { rank: 0, units: ['common', 'log', 'crypto', 'version.ts'], holds: 'shared words: errors, table names, body schemas; logging and masking; AES-GCM' },
  { rank: 1, units: ['config'], holds: 'settings from the environment and the config file' },
  { rank: 2, units: ['db'], holds: 'the knex connection, transactions, migrations' },
  { rank: 3, units: ['engine', 'drivers'], holds: 'the task engine (queue SQL, worker, chains, retries); the remote systems\' clients (HestiaCP over SSH, PowerDNS over HTTP)' },
  { rank: 4, units: ['pipelines', 'dns', 'settings'], holds: 'pure planning (it emits the engine\'s steps); the DNS zone-host contract over the drivers; admin settings' },
  { rank: 5, units: ['fleet', 'whmcs'], holds: 'the fleet inventory and access to its servers; the WHMCS side (External API, ticket outbox)' },
  { rank: 6, units: ['handlers', 'services', 'scheduler', 'metrics', 'doctor', 'console', 'ssl'], holds: 'task types; what each module call writes, the service store and reads; recurring jobs; the Prometheus metrics; the installation checks of hostbridge doctor; the VM console\'s one-time links, listener and proxy; automatic and custom SSL: the DNS check, the TLS probe, the cadence and the certificate checks' },
  { rank: 7, units: ['pages'], holds: 'the presentation layer: WHMCS fragments and the /ui pages, one handlebars set-up' },
  { rank: 8, units: ['api'], holds: 'the signed HTTP API: framing, signing, routes, OpenAPI' },
  { rank: 9, units: ['http', 'runtime.ts'], holds: 'the express app that mounts the API and the pages side by side; the runtime that builds a daemon' },
  { rank: 10, units: ['cli', 'cli.ts'], holds: 'the command line' },
];

/** Imports the ranks alone would allow, but that the design forbids all the same. */
export const FORBIDDEN: ReadonlyArray<{ from: string; to: string; why: string }> = [
  { from: 'pipelines', to: 'drivers', why: 'planning is pure: it decides from names and the fleet it is given, it talks to no server' },
  { from: 'pipelines', to: 'db', why: 'planning is pure: the caller reads the fleet once and passes it in' },
  { from: 'drivers', to: 'engine', why: 'drivers raise the ground floor\'s errors; they know nothing of tasks' },
  { from: 'engine', to: 'whmcs', why: 'what a chain\'s end means (tickets) is passed in as hooks' },
  { from: 'engine', to: 'services', why: 'what a chain\'s end means (service state) is passed in as hooks' },
  { from: 'engine', to: 'fleet', why: 'the engine knows targets by name only' },
];

/** Packages a layer may not import at all, whatever its rank. */
export const FORBIDDEN_PACKAGES: ReadonlyArray<{ from: string; pkg: RegExp; why: string }> = [
  { from: 'pipelines', pkg: /^(knex|node-ssh|ssh2|mysql2|better-sqlite3|express|node:fs|node:net|node:http|node:https|node:child_process)$/, why: 'planning is pure: no I/O' },
];
