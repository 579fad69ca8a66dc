// Hestia account and package names of a service, derived once from its domain and WHMCS id and
// stored with the service row before the first remote call: every retry, redeploy and repair
// uses the same names. The id makes them unique; the domain makes them readable.
import type { Mode } from './product.ts';

export interface AccountNames {
  /** Split: one user per role. Unified: `all`. Vanity: `web` only (mail is the provider's). */
  users: Partial<Record<'web' | 'mail' | 'dns' | 'all', string>>;
  packages: Partial<Record<'web' | 'mail' | 'all', string>>;
}

/** Hestia's new-user rule: a letter first, then letters, digits, "-" or "_", at most 30. */
export const HESTIA_NEW_USER = /^[a-zA-Z][-_a-zA-Z0-9]{0,28}[a-zA-Z0-9]$/;

/** Whole labels of the domain while they fit in 14 characters (the first one cut if it must). */
function base(domain: string): string {
  const labels = domain.toLowerCase().split('.').map((l) => l.replace(/[^a-z0-9-]/g, '')).filter(Boolean);
  let b = (labels[0] ?? 'site').slice(0, 14);
  for (const l of labels.slice(1, -1)) {
    if (b.length + 1 + l.length > 14) break;
    b = `${b}-${l}`;
  }
  if (!/^[a-z]/.test(b)) b = `h${b}`.slice(0, 14);
  return b.replace(/-+$/, '').replace(/-+/g, '-');
}

/** `oneAccount`: web and mail share one node, hence one user (Unified, or Split placed so). */
export function accountNames(whmcsServiceId: number, domain: string, mode: Mode, oneAccount = mode === 'unified'): AccountNames {
  const stem = `${base(domain)}-${whmcsServiceId}`;
  const pkg = `hb${whmcsServiceId}`;
  if (oneAccount && mode !== 'vanity') return { users: { all: stem, dns: `${stem}-dns` }, packages: { all: `${pkg}-all` } };
  if (mode === 'vanity') return { users: { web: `${stem}-web` }, packages: { web: `${pkg}-web` } };
  return {
    users: { web: `${stem}-web`, mail: `${stem}-mail`, dns: `${stem}-dns` },
    packages: { web: `${pkg}-web`, mail: `${pkg}-mail` },
  };
}
