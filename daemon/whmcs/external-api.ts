// A client for the WHMCS External API (POST form-encoded to /includes/api.php, JSON answers).
// Credentials are never put in an error message.
import { RetryableError, TerminalError } from '../common/errors.ts';

export interface WhmcsApiConfig {
  url: string;
  identifier: string;
  secret: string;
  accessKey?: string;
  timeoutMs?: number;
}

export type WhmcsResult = Record<string, unknown> & { result: 'success' };

export async function callWhmcs(cfg: WhmcsApiConfig, action: string, params: Record<string, string | number | boolean | undefined>): Promise<WhmcsResult> {
  const body = new URLSearchParams({ action, identifier: cfg.identifier, secret: cfg.secret, responsetype: 'json' });
  if (cfg.accessKey) body.set('accesskey', cfg.accessKey);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) body.set(k, typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v));
  let res: Response;
  try {
    res = await fetch(cfg.url, {
      method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      signal: AbortSignal.timeout(cfg.timeoutMs ?? 10_000), redirect: 'error',
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new RetryableError(`WHMCS API at ${cfg.url} is unreachable (${cause})`);
  }
  const text = await res.text();
  if (res.status >= 500 || res.status === 429) throw new RetryableError(`WHMCS API answered HTTP ${res.status}`);
  let data: { result?: string; message?: string } & Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new RetryableError(`WHMCS API answered HTTP ${res.status} with something that is not JSON (is ${cfg.url} the /includes/api.php endpoint?)`);
  }
  if (data.result !== 'success') {
    const message = typeof data.message === 'string' ? data.message : `HTTP ${res.status}`;
    throw new TerminalError(`WHMCS API refused ${action}: ${message}`);
  }
  return data as WhmcsResult;
}
