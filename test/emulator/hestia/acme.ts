// The node's view of the outside world for Let's Encrypt: which resolver it asks (nslookup), which
// CA answers its ACME orders, failures a test injects and the validity of issued certificates.
// Kept in one JSON file under the node's conf/ so a test (or another process) can set it. The
// default is a node that resolves nothing and has no CA: no test ever reaches the real internet.
import { Resolver } from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite } from './conf.ts';

/** The ACME step that answers with a failure (the messages are v-add-letsencrypt-domain's). */
export type AcmeStep = 'nonce' | 'new-auth' | 'authz' | 'validation' | 'finalize';

export interface AcmeFailure {
  step: AcmeStep;
  /** HTTP status the CA answers with, e.g. 429 (rate limit), 500. */
  status: number;
  /** For step 'validation': the detail LE gives (default: a 403 unauthorized). */
  detail?: string;
  /** How many of the next runs fail (default 1). */
  times?: number;
}

export interface AcmeSettings {
  /** `host:port` of the DNS servers the node asks, in order (none: nothing resolves). */
  resolvers: string[];
  /** The CA that signs ACME orders (PEM cert and key); null = orders fail at the directory (nonce 503). */
  ca: { cert: string; key: string } | null;
  /** Injected failures, consumed one run at a time. */
  failures: AcmeFailure[];
  /** Validity of issued certificates in days (Let's Encrypt: 90); may be fractional or negative. */
  validityDays: number;
}

const DEFAULTS: AcmeSettings = { resolvers: [], ca: null, failures: [], validityDays: 90 };

const file = (dir: string) => join(dir, 'conf', 'emulator-acme.json');

export function readAcme(dir: string): AcmeSettings {
  const f = file(dir);
  if (!existsSync(f)) return { ...DEFAULTS, failures: [] };
  return { ...DEFAULTS, ...(JSON.parse(readFileSync(f, 'utf8')) as Partial<AcmeSettings>) };
}

/** Changes some of a node's ACME/DNS knobs; the rest stay as they were. */
export function setAcme(dir: string, patch: Partial<AcmeSettings>): AcmeSettings {
  const next = { ...readAcme(dir), ...patch };
  atomicWrite(file(dir), JSON.stringify(next, null, 2) + '\n');
  return next;
}

/** Queues a failure for the next `times` runs of v-add-letsencrypt-domain. */
export function injectAcmeFailure(dir: string, f: AcmeFailure): void {
  const s = readAcme(dir);
  setAcme(dir, { failures: [...s.failures, { times: 1, ...f }] });
}

/** Takes the first pending failure (decrementing its count), or null. Called by the command, synchronously. */
export function takeAcmeFailure(dir: string): AcmeFailure | null {
  const s = readAcme(dir);
  const f = s.failures[0];
  if (!f) return null;
  const left = (f.times ?? 1) - 1;
  setAcme(dir, { failures: left > 0 ? [{ ...f, times: left }, ...s.failures.slice(1)] : s.failures.slice(1) });
  return f;
}

/** A name's IPv4 addresses as the node's resolver answers; [] when it does not resolve. */
export type DnsAnswers = Record<string, string[]>;

/**
 * The asynchronous part of v-add-letsencrypt-domain, done before the synchronous command runs:
 * asks the node's resolvers for every name the command may need. The command itself decides
 * which names those are; extra answers are harmless.
 */
export async function resolveNames(dir: string, names: string[]): Promise<DnsAnswers> {
  const { resolvers } = readAcme(dir);
  const out: DnsAnswers = {};
  for (const n of names) out[n] = [];
  if (resolvers.length === 0) return out;
  const r = new Resolver({ timeout: 2000, tries: 1 });
  r.setServers(resolvers);
  await Promise.all(names.map(async (n) => {
    try { out[n] = await r.resolve4(n); } catch { out[n] = []; }
  }));
  return out;
}
