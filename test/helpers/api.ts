// Signed calls to a test daemon's API, and a small fleet written through that API.
import { signedHeaders } from '../../daemon/api/signature.ts';
import { TEST_SECRET } from './daemon.ts';

export interface Answer { status: number; body: any }

export async function call(baseUrl: string, method: string, path: string, body?: unknown, secret = TEST_SECRET): Promise<Answer> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(baseUrl + path, {
    method,
    headers: { ...signedHeaders(secret, method, path, text), ...(text ? { 'content-type': 'application/json' } : {}) },
    body: text || undefined,
  });
  const raw = await res.text();
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Left as text: the test asserting on it will say what came back.
  }
  return { status: res.status, body: parsed };
}

export interface TestFleet { groupId: number; web: number[]; mail: number[]; dns: number[]; all: number[] }

/**
 * Two web, two mail and two DNS Hestia nodes plus one Web+Mail node, in one group with a vanity
 * parent domain. Addresses are TEST-NET; the API tests never contact them.
 */
export async function addTestFleet(baseUrl: string, opts: { vanityMailUser?: string } = {}): Promise<TestFleet> {
  const add = async (name: string, ip: string, caps: { web?: boolean; mail?: boolean; dns?: boolean }) => {
    const r = await call(baseUrl, 'POST', '/v1/servers', { name, driver: 'hestiacp', hostname: `${name}.test.invalid`, ip, port: 22, username: 'root', password: `pw-${name}-secret`, capabilities: caps });
    if (r.status !== 201) throw new Error(`adding server ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as number;
  };
  const web = [await add('web1', '192.0.2.11', { web: true }), await add('web2', '192.0.2.12', { web: true })];
  const mail = [await add('mail1', '192.0.2.21', { mail: true }), await add('mail2', '192.0.2.22', { mail: true })];
  const dns = [await add('ns1', '192.0.2.31', { dns: true }), await add('ns2', '192.0.2.32', { dns: true })];
  const all = [await add('combo1', '192.0.2.41', { web: true, mail: true })];
  const g = await call(baseUrl, 'POST', '/v1/server-groups', {
    name: 'main', nameservers: ['ns1.example.net', 'ns2.example.net'], servers: [...web, ...mail, ...all], dns_servers: dns,
    vanity_domains: [{ domain: 'sites.example.net', mail_server_id: mail[0], mail_user: opts.vanityMailUser ?? 'provider', dns_user: 'provider' }],
    reserved_names: ['www', 'mail', 'admin'],
  });
  if (g.status !== 201) throw new Error(`adding the group: ${g.status} ${JSON.stringify(g.body)}`);
  return { groupId: g.body.id, web, mail, dns, all };
}

/** A CreateAccount body as the PHP module sends it. */
export function createBody(serviceId: number, groupId: number, over: Record<string, unknown> = {}, product: Record<string, string> = {}): Record<string, unknown> {
  const p: Record<string, string> = {};
  for (let i = 1; i <= 24; i++) p[`configoption${i}`] = '';
  Object.assign(p, { configoption1: 'split', configoption2: String(groupId), configoption3: 'on', configoption4: 'on', configoption5: 'on', configoption6: '2048', configoption7: '1024' }, product);
  return {
    whmcs_service_id: serviceId, client_id: 7, product_id: 3, domain: `shop${serviceId}.example.com`, username: `shop${serviceId}`,
    password: 'Cust0mer-Pa55!', email: 'owner@example.com', server_group_id: groupId, product: p, config_options: {}, custom_fields: {}, ...over,
  };
}
