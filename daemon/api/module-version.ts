// Which WHMCS module versions go with this daemon, and the check every signed call passes: the
// module names its version in X-Hostbridge-Module-Version; a module of another line, or one too
// old to send the header, is refused with a message that says which versions go together, before
// it can write anything the daemon would read differently. The rule is written down in docs/api.md.
import type { NextFunction, Request, Response } from 'express';
import { VERSION } from '../version.ts';

export const HEADER_MODULE_VERSION = 'x-hostbridge-module-version';

interface Semver { major: number; minor: number; patch: number }

const SEMVER = /^(\d{1,6})\.(\d{1,6})\.(\d{1,6})(?:-[0-9A-Za-z.-]{1,64})?(?:\+[0-9A-Za-z.-]{1,64})?$/;

export function parseVersion(v: string): Semver | null {
  const m = SEMVER.exec(v.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : null;
}

/** The line of versions that go with `v`: "1.x" (same major), or for 0.x "0.3.x" (same minor: 0.x may break on every minor). */
export function compatibleLine(v: string): string {
  const p = parseVersion(v);
  if (!p) return v;
  return p.major === 0 ? `0.${p.minor}.x` : `${p.major}.x`;
}

/** Same major, and for 0.x the same minor as well. */
export function versionsCompatible(a: string, b: string): boolean {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) return false;
  return x.major === y.major && (x.major !== 0 || x.minor === y.minor);
}

export type ModuleVerdict =
  | { ok: true }
  | { ok: false; status: number; body: { error: string; code: 'module_version'; daemon_version: string; module_version: string | null; compatible_modules: string } };

/** What to answer a call carrying `header` (the header's value, or undefined when it is missing). */
export function checkModuleVersion(header: string | undefined, daemonVersion = VERSION): ModuleVerdict {
  const line = compatibleLine(daemonVersion);
  const refuse = (status: number, error: string, moduleVersion: string | null): ModuleVerdict => ({
    ok: false, status, body: { error, code: 'module_version', daemon_version: daemonVersion, module_version: moduleVersion, compatible_modules: line },
  });
  const install = `install the WHMCS module (bridge-php/) of the daemon's own release ${daemonVersion}, or run a daemon that matches the module`;
  if (header === undefined || header.trim() === '') {
    return refuse(409, `the WHMCS module sent no version (X-Hostbridge-Module-Version): it is older than this daemon supports. `
      + `hostbridge daemon ${daemonVersion} works with the module ${line}; ${install}`, null);
  }
  const sent = header.trim();
  if (!parseVersion(sent)) {
    // Never echo more than a short, printable piece of what was sent.
    const shown = sent.slice(0, 40).replace(/[^\x20-\x7e]/g, '?');
    return refuse(400, `X-Hostbridge-Module-Version must be a version such as ${daemonVersion}, got "${shown}"`, null);
  }
  if (!versionsCompatible(sent, daemonVersion)) {
    return refuse(409, `the WHMCS module ${sent} does not go with hostbridge daemon ${daemonVersion}: the daemon ${daemonVersion} works with the module ${line}, `
      + `the module ${sent} with the daemon ${compatibleLine(sent)}; ${install}`, sent);
  }
  return { ok: true };
}

/** Express middleware for the signed routes (mounted after the signature check). */
export function requireCompatibleModule(daemonVersion = VERSION) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const raw = req.headers[HEADER_MODULE_VERSION];
    const verdict = checkModuleVersion(Array.isArray(raw) ? raw[0] : raw, daemonVersion);
    if (verdict.ok) return next();
    res.status(verdict.status).json(verdict.body);
  };
}
