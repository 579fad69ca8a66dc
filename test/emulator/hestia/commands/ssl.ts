// SSL for web and mail domains: custom certificates (v-add/-change/-update/-delete/-list-*-ssl,
// with func/domain.sh is_web_domain_cert_valid's checks in its order) and Let's Encrypt
// (v-add/-delete-letsencrypt-domain) against the node's emulated ACME CA (../acme.ts).
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyFile, type Obj } from '../conf.ts';
import { type AcmeFailure, type DnsAnswers, readAcme, resolveNames, takeAcmeFailure } from '../acme.ts';
import { E, fail, HestiaExit } from '../errors.ts';
import { paths } from '../node.ts';
import * as v from '../validate.ts';
import { issue, onelineDn, signatureAlgorithm } from '../x509.ts';
import { type Ctx, formatDomain } from './ctx.ts';
import type { Command } from './types.ts';

type Kind = 'web' | 'mail';

interface CertFiles { crt: string; key: string; ca: string }

/** Where a domain's installed files live: $USER_DATA/ssl/<d>.* (web) or ssl/mail.<d>.* (mail). */
export function sslBase(dir: string, user: string, kind: Kind, domain: string): string {
  return paths.userFile(dir, user, join('ssl', kind === 'web' ? domain : `mail.${domain}`));
}

/** The SSL_DIR argument: a directory under the node's /tmp, else `folder X does not exist`. */
function sslDir(c: Ctx, arg: string): string {
  if (/['"]/.test(arg)) fail(E.INVALID, `Invalid ssl_dir contains qoutes (" or ') :: ${arg}`);
  const real = c.tmpPath(arg);
  if (!real || !existsSync(real) || !statSync(real).isDirectory()) fail(E.NOTEXIST, `folder ${arg} does not exist`);
  return real;
}

const firstCert = (pem: string): X509Certificate | null => {
  try { return new X509Certificate(pem); } catch { return null; }
};

/** is_web_domain_cert_valid: the checks in their order, with the node trusting no CA of its own. */
function certValid(c: Ctx, dirArg: string, real: string, domain: string): CertFiles {
  const f = (ext: string) => join(real, `${domain}.${ext}`);
  const shown = (ext: string) => `${dirArg}/${domain}.${ext}`;
  if (!existsSync(f('crt'))) fail(E.NOTEXIST, `${shown('crt')} not found`);
  if (!existsSync(f('key'))) fail(E.NOTEXIST, `${shown('key')} not found`);
  const crt = readFileSync(f('crt'), 'utf8');
  const key = readFileSync(f('key'), 'utf8');
  const ca = existsSync(f('ca')) ? readFileSync(f('ca'), 'utf8') : '';
  const x = firstCert(crt);
  // openssl verify: "unable to load" → invalid; a self-signed cert fails differently (error 18) and passes here.
  if (!x) fail(E.INVALID, 'SSL Certificate is not valid');
  // openssl's error 18 (self-signed): issuer = subject and the cert's own key verifies it.
  const selfSigned = x.issuer === x.subject && x.verify(x.publicKey);
  if (!selfSigned && !existsSync(f('ca'))) fail(E.NOTEXIST, 'Certificate Authority not found');
  if (existsSync(f('ca'))) {
    const chain = firstCert(ca);
    if (!chain || chain.subject !== x.issuer) fail(E.NOTEXIST, 'SSL intermediate chain is not valid');
  }
  if (key.split('\n').filter((l) => l.includes('PRIVATE KEY')).length !== 2) fail(E.INVALID, 'SSL Key is not valid');
  if (key.includes('ENCRYPTED')) fail(E.FORBIDEN, 'SSL Key is protected (remove pass_phrase)');
  // Hestia starts `openssl s_server` with the pair: it fails when the key does not match.
  let match = false;
  try {
    const pub = createPublicKey(createPrivateKey(key)).export({ type: 'spki', format: 'der' });
    match = pub.equals(x.publicKey.export({ type: 'spki', format: 'der' }));
  } catch { match = false; }
  if (!match) fail(E.INVALID, 'ssl certificate key pair is not valid');
  return { crt, key, ca };
}

function writeFiles(c: Ctx, user: string, kind: Kind, domain: string, files: CertFiles): void {
  const base = sslBase(c.dir, user, kind, domain);
  removeFiles(c, user, kind, domain);
  writeFileSync(`${base}.crt`, files.crt, { mode: 0o660 });
  writeFileSync(`${base}.key`, files.key, { mode: 0o660 });
  if (files.ca) writeFileSync(`${base}.ca`, files.ca, { mode: 0o660 });
  writeFileSync(`${base}.pem`, files.crt.replace(/\n*$/, '\n') + files.ca, { mode: 0o660 });
}

function removeFiles(c: Ctx, user: string, kind: Kind, domain: string): void {
  const base = sslBase(c.dir, user, kind, domain);
  for (const ext of ['crt', 'key', 'ca', 'pem']) rmSync(`${base}.${ext}`, { force: true });
}

/** add_object_key + update_object_value: set a key, inserting it after `after` when missing. */
function setKey(c: Ctx, user: string, conf: Kind, domain: string, key: string, value: string, after: string): void {
  const objs = c.objects(user, conf).map((o) => {
    if (o.get('DOMAIN') !== domain) return o;
    if (o.has(key)) return new Map(o).set(key, value);
    const out: Obj = new Map();
    for (const [k, val] of o) { out.set(k, val); if (k === after) out.set(key, value); }
    if (!out.has(key)) out.set(key, value);
    return out;
  });
  c.writeObjects(user, conf, objs);
}

function sslEnabled(c: Ctx): void {
  const s = c.conf('WEB_SSL');
  if (s === '' || s === 'no') fail(E.DISABLED, 'SSL_SUPPORT is not enabled');
}

/** SSL=yes already exists (4) / SSL=no doesn't exist (3). */
function sslOff(o: Obj): void { const s = o.get('SSL') ?? ''; if (s !== '' && s !== 'no') fail(E.EXISTS, `SSL=${s} already exists`); }
function sslOn(o: Obj): void { const s = o.get('SSL') ?? ''; if (s === '' || s === 'no') fail(E.NOTEXIST, `SSL=${s || 'no'} doesn't exist`); }

function userDomain(c: Ctx): { user: string; domain: string } {
  const user = c.arg(1); const domain = formatDomain(c.arg(2));
  if (user) v.user(user); if (domain) v.domain(domain);
  return { user, domain };
}

// --- custom certificates: web ---------------------------------------------------------------------

const addWebSsl: Command = {
  logs: true,
  run(c) {
    c.demoMode();
    c.checkArgs(3, 'USER DOMAIN SSL_DIR [SSL_HOME] [RESTART]');
    const { user, domain } = userDomain(c);
    const real = sslDir(c, c.arg(3));
    const sslHome = c.arg(4) || 'same';
    if (c.arg(5)) v.restart(c.arg(5));
    if (sslHome !== 'same' && sslHome !== 'single') fail(E.INVALID, `invalid ssl_home format :: ${sslHome}`);
    c.systemEnabled('WEB_SYSTEM'); sslEnabled(c);
    c.userValid(user); c.userUnsuspended(user);
    const w = c.objectValid(user, 'web', 'DOMAIN', domain); c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
    sslOff(w);
    const files = certValid(c, c.arg(3), real, domain);
    installWeb(c, user, domain, files, sslHome);
    return '';
  },
};

function installWeb(c: Ctx, user: string, domain: string, files: CertFiles, sslHome: string): void {
  writeFiles(c, user, 'web', domain, files);
  c.updateObject(user, 'web', 'DOMAIN', domain, { SSL: 'yes', SSL_HOME: sslHome });
  c.bump(user, 'U_WEB_SSL', 1);
}

/** v-change-web-domain-sslcert (checks the files) and v-update-web-domain-ssl (LE's renewal path, no checks). */
function replaceWebSsl(checks: boolean): Command {
  return {
    logs: true,
    run(c) {
      c.checkArgs(3, 'USER DOMAIN SSL_DIR [RESTART]');
      const { user, domain } = userDomain(c);
      const real = sslDir(c, c.arg(3));
      if (c.arg(4)) v.restart(c.arg(4));
      c.systemEnabled('WEB_SYSTEM');
      if (!checks) sslEnabled(c);
      c.userValid(user); c.userUnsuspended(user);
      const w = c.objectValid(user, 'web', 'DOMAIN', domain); c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
      sslOn(w);
      const files = checks ? certValid(c, c.arg(3), real, domain) : readDir(real, domain);
      c.demoMode();
      writeFiles(c, user, 'web', domain, files);
      return '';
    },
  };
}

function readDir(real: string, domain: string): CertFiles {
  const r = (ext: string) => (existsSync(join(real, `${domain}.${ext}`)) ? readFileSync(join(real, `${domain}.${ext}`), 'utf8') : '');
  return { crt: r('crt'), key: r('key'), ca: r('ca') };
}

const deleteWebSsl: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [RESTART]');
    const { user, domain } = userDomain(c);
    if (c.arg(3)) v.restart(c.arg(3));
    c.systemEnabled('WEB_SYSTEM');
    c.userValid(user);
    const w = c.objectValid(user, 'web', 'DOMAIN', domain);
    sslOn(w);
    c.demoMode();
    c.updateObject(user, 'web', 'DOMAIN', domain, { SSL: 'no', LETSENCRYPT: 'no' });
    removeFiles(c, user, 'web', domain);
    c.bump(user, 'U_WEB_SSL', -1);
    return '';
  },
};

// --- custom certificates: mail --------------------------------------------------------------------

function mailChecks(c: Ctx, min: number, usage: string, suspended: boolean): { user: string; domain: string; o: Obj } {
  c.checkArgs(min, usage);
  const { user, domain } = userDomain(c);
  c.systemEnabled('MAIL_SYSTEM');
  c.userValid(user); if (suspended) c.userUnsuspended(user);
  const o = c.objectValid(user, 'mail', 'DOMAIN', domain); if (suspended) c.objectUnsuspended(user, 'mail', 'DOMAIN', domain);
  return { user, domain, o };
}

const addMailSsl: Command = {
  logs: true,
  run(c) {
    c.checkArgs(3, 'USER DOMAIN SSL_DIR [RESTART]');
    const { user, domain } = userDomain(c);
    const real = sslDir(c, c.arg(3));
    if (c.arg(4)) v.restart(c.arg(4));
    const { o } = mailChecks(c, 3, 'USER DOMAIN SSL_DIR [RESTART]', true);
    sslOff(o);
    const files = certValid(c, c.arg(3), real, domain);
    c.demoMode();
    installMail(c, user, domain, files);
    return '';
  },
};

function installMail(c: Ctx, user: string, domain: string, files: CertFiles): void {
  writeFiles(c, user, 'mail', domain, files);
  c.updateObject(user, 'mail', 'DOMAIN', domain, { SSL: 'yes' });
  c.bump(user, 'U_MAIL_SSL', 1);
}

function replaceMailSsl(checks: boolean): Command {
  return {
    logs: true,
    run(c) {
      c.checkArgs(3, 'USER DOMAIN SSL_DIR [RESTART]');
      const { domain } = userDomain(c);
      const real = sslDir(c, c.arg(3));
      if (c.arg(4)) v.restart(c.arg(4));
      const { user, o } = mailChecks(c, 3, 'USER DOMAIN SSL_DIR [RESTART]', true);
      sslOn(o);
      const files = checks ? certValid(c, c.arg(3), real, domain) : readDir(real, domain);
      c.demoMode();
      writeFiles(c, user, 'mail', domain, files);
      return '';
    },
  };
}

const deleteMailSsl: Command = {
  logs: true,
  run(c) {
    const { user, domain, o } = mailChecks(c, 2, 'USER DOMAIN', false);
    sslOn(o);
    c.demoMode();
    c.updateObject(user, 'mail', 'DOMAIN', domain, { SSL: 'no', LETSENCRYPT: 'no' });
    removeFiles(c, user, 'mail', domain);
    c.bump(user, 'U_MAIL_SSL', -1);
    return '';
  },
};

// --- listings --------------------------------------------------------------------------------------

const jsonEscape = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
/** `$(cat f | sed ':a;N;$!ba;s/\n/\\n/g')`: trailing newlines dropped, the others written as \n. */
const flat = (s: string) => s.replace(/\n+$/, '').replace(/\n/g, '\\n');

export interface CertInfo { subject: string; aliases: string; notBefore: string; notAfter: string; signature: string; pubKey: string; issuer: string }

/** What v-list-*-ssl reads with `openssl x509 -text`. */
export function certInfo(crt: string): CertInfo | null {
  const x = firstCert(crt);
  if (!x) return null;
  const cn = x.subject.split('\n').find((l) => l.startsWith('CN='))?.slice(3) ?? '';
  const sans = (x.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
  const bits = x.publicKey.asymmetricKeyDetails?.modulusLength;
  return {
    subject: cn, aliases: sans.join(','), notBefore: x.validFrom, notAfter: x.validTo,
    signature: signatureAlgorithm(crt), pubKey: bits ? `${bits} bit` : '', issuer: onelineDn(x.issuer),
  };
}

function listSsl(kind: Kind): Command {
  return {
    run(c) {
      c.demoMode();
      c.checkArgs(2, 'USER DOMAIN [FORMAT]');
      const { user, domain } = userDomain(c);
      const format = c.args.length >= 3 ? c.arg(3) : 'shell';
      c.userValid(user);
      c.objectValid(user, kind, 'DOMAIN', domain);
      const base = sslBase(c.dir, user, kind, domain);
      const read = (ext: string) => (existsSync(`${base}.${ext}`) ? readFileSync(`${base}.${ext}`, 'utf8') : '');
      const crt = read('crt');
      const info = crt ? certInfo(crt) : null;
      const fields: [string, string][] = [
        ['CRT', flat(crt)], ['KEY', flat(read('key'))], ['CA', flat(read('ca'))],
        ['SUBJECT', jsonEscape(info?.subject ?? '')], ['ALIASES', jsonEscape(info?.aliases ?? '')],
        ['NOT_BEFORE', jsonEscape(info?.notBefore ?? '')], ['NOT_AFTER', jsonEscape(info?.notAfter ?? '')],
        ['SIGNATURE', jsonEscape(info?.signature ?? '')], ['PUB_KEY', jsonEscape(info?.pubKey ?? '')], ['ISSUER', jsonEscape(info?.issuer ?? '')],
      ];
      if (format !== 'json') return '';
      return `{\n\t"${domain}": {\n${fields.map(([k, val]) => `        "${k}": "${val}"`).join(',\n')}\n\t}\n}\n`;
    },
  };
}

// --- Let's Encrypt ---------------------------------------------------------------------------------

/** The names v-add-letsencrypt-domain will look up, from its arguments (for the asynchronous resolve step). */
export function letsEncryptNames(dir: string, args: string[]): string[] {
  const domain = formatDomain(args[1] ?? '');
  if (!domain) return [];
  if (args[3] && args[3] !== 'no') {
    const alias = readKeyFile(paths.conf(dir)).get('WEBMAIL_ALIAS') || 'webmail';
    return [`mail.${domain}`, `${alias}.${domain}`];
  }
  return [domain, ...(args[2] ?? '').split(',').filter((a) => a && !a.startsWith('*'))];
}

/**
 * What a command needs from the network, looked up before it runs (runHestia is synchronous):
 * DNS answers for v-add-letsencrypt-domain; nothing for any other command.
 */
export async function networkLookups(dir: string, script: string, args: string[]): Promise<{ dns?: DnsAnswers }> {
  if (script !== 'v-add-letsencrypt-domain') return {};
  return { dns: await resolveNames(dir, letsEncryptNames(dir, args)) };
}

function acmeError(f: AcmeFailure, d: string): never {
  switch (f.step) {
    case 'nonce': fail(E.CONNECT, `Let's Encrypt nonce request status ${f.status} (${d})`);
    case 'new-auth': fail(E.CONNECT, `Let's Encrypt new auth status ${f.status} (${d})`);
    case 'authz': fail(E.CONNECT, `Let's Encrypt acme/authz bad status ${f.status} (${d})`);
    case 'validation': fail(E.CONNECT, `Let's Encrypt validation status ${f.status} (${d}). Details: 403:"${f.detail ?? 'Invalid response'}"`);
    case 'finalize': fail(E.CONNECT, `Let's Encrypt finalize bad status ${f.status} (${d})`);
  }
}

/** The IP the node serves a web domain on (web.conf IP), or the user's IP for a mail-only domain. */
function servingIp(c: Ctx, user: string, domain: string): string {
  const w = c.find(user, 'web', 'DOMAIN', domain);
  if (w?.get('IP')) return w.get('IP')!;
  return existsSync(paths.ips(c.dir)) ? readdirSync(paths.ips(c.dir))[0] ?? '' : '';
}

const addLetsEncrypt: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [ALIASES] [MAIL]');
    const { user, domain } = userDomain(c);
    const aliasArg = c.arg(3);
    if (aliasArg) v.aliases(aliasArg);
    c.userValid(user); c.userUnsuspended(user);
    let mail = c.arg(4);
    if (mail) v.bool(mail, 'mail');
    if (mail === 'no') mail = '';
    let aliases: string[] = [];
    if (!mail) {
      c.systemEnabled('WEB_SYSTEM');
      const w = c.objectValid(user, 'web', 'DOMAIN', domain); c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
      aliases = [...new Set(aliasArg.split(',').filter(Boolean))].sort();
      if (aliasArg !== `*.${domain}`) {
        const have = (w.get('ALIAS') ?? '').split(',');
        for (const a of aliases) if (!have.includes(a)) fail(E.NOTEXIST, `domain alias ${a} doesn't exist`);
      }
    } else {
      c.systemEnabled('MAIL_SYSTEM');
      const m = c.objectValid(user, 'mail', 'DOMAIN', domain); c.objectUnsuspended(user, 'mail', 'DOMAIN', domain);
      aliases = m.get('WEBMAIL') ? [`${c.conf('WEBMAIL_ALIAS') || 'webmail'}.${domain}`] : [];
    }
    c.demoMode();
    const certDomain = mail ? `mail.${domain}` : domain;
    const acme = readAcme(c.dir);
    // v-add-letsencrypt-user registers the ACME account first; its failure is printed to /dev/null.
    if (!acme.ca) throw new HestiaExit(E.CONNECT, '');
    const wildcard = aliasArg === `*.${domain}`;
    if (wildcard && !existsSync(paths.userFile(c.dir, user, `dns/${domain}.conf`))) fail(E.NOTEXIST, `DNS domain ${domain} doesn't exist`);
    const answers: DnsAnswers = c.opts.dns ?? {};
    const identifiers = [...new Set([certDomain, ...aliases])].sort();
    if (!wildcard) {
      for (const id of identifiers) if (!answers[id]?.length) fail(E.NOTEXIST, `DNS record for ${id} doesn't exist`);
    }
    const injected = takeAcmeFailure(c.dir);
    if (injected) acmeError(injected, certDomain);
    if (!wildcard) {
      // http-01: the CA fetches the token from whatever the name points at; only this node has it.
      const ip = servingIp(c, user, mail ? domain : certDomain);
      for (const id of identifiers) {
        const a = answers[id]!;
        if (!a.includes(ip)) {
          fail(E.CONNECT, `Let's Encrypt validation status 400 (${certDomain}). Details: 403:"${a[0]}: Invalid response from http://${id}/.well-known/acme-challenge/${tokenFor(id)}: 404"`);
        }
      }
    }
    const now = Date.now();
    const issued = issue([certDomain, ...aliases.filter((a) => a !== certDomain)], {
      ca: acme.ca, notBefore: new Date(now - 3_600_000), notAfter: new Date(now + acme.validityDays * 86_400_000),
    });
    const files = { crt: issued.cert, key: issued.key, ca: issued.chain };
    const kind: Kind = mail ? 'mail' : 'web';
    const o = c.find(user, kind, 'DOMAIN', domain)!;
    const on = o.get('SSL') === 'yes';
    if (kind === 'web') {
      if (on) writeFiles(c, user, 'web', domain, files); else installWeb(c, user, domain, files, o.get('SSL_HOME') || 'same');
    } else if (on) writeFiles(c, user, 'mail', domain, files);
    else installMail(c, user, domain, files);
    setKey(c, user, kind, domain, 'LETSENCRYPT', 'yes', kind === 'web' ? 'SSL_HOME' : 'SSL');
    setKey(c, user, kind, domain, 'LETSENCRYPT_FAIL_COUNT', '0', 'LETSENCRYPT');
    return '';
  },
};

function tokenFor(name: string): string {
  return Buffer.from(`hb-emulated-${name}`).toString('base64url').slice(0, 43);
}

const deleteLetsEncrypt: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [RESTART] [MAIL]');
    const { user, domain } = userDomain(c);
    if (c.arg(3)) v.restart(c.arg(3));
    // Any non-empty MAIL selects mail mode, even `no`.
    const kind: Kind = c.arg(4) ? 'mail' : 'web';
    c.systemEnabled('WEB_SYSTEM'); sslEnabled(c);
    c.userValid(user);
    const o = c.objectValid(user, kind, 'DOMAIN', domain); c.objectUnsuspended(user, kind, 'DOMAIN', domain);
    const le = o.get('LETSENCRYPT') ?? '';
    if (le === '' || le === 'no') fail(E.NOTEXIST, `LETSENCRYPT=${le || 'no'} doesn't exist`);
    c.demoMode();
    if (o.get('SSL') === 'yes') {
      removeFiles(c, user, kind, domain);
      c.updateObject(user, kind, 'DOMAIN', domain, { SSL: 'no' });
      c.bump(user, kind === 'web' ? 'U_WEB_SSL' : 'U_MAIL_SSL', -1);
    }
    c.updateObject(user, kind, 'DOMAIN', domain, { LETSENCRYPT: 'no' });
    return '';
  },
};

export const sslCommands: Record<string, Command> = {
  'v-add-web-domain-ssl': addWebSsl, 'v-change-web-domain-sslcert': replaceWebSsl(true), 'v-update-web-domain-ssl': replaceWebSsl(false),
  'v-delete-web-domain-ssl': deleteWebSsl, 'v-list-web-domain-ssl': listSsl('web'),
  'v-add-mail-domain-ssl': addMailSsl, 'v-change-mail-domain-sslcert': replaceMailSsl(true), 'v-update-mail-domain-ssl': replaceMailSsl(false),
  'v-delete-mail-domain-ssl': deleteMailSsl, 'v-list-mail-domain-ssl': listSsl('mail'),
  'v-add-letsencrypt-domain': addLetsEncrypt, 'v-delete-letsencrypt-domain': deleteLetsEncrypt,
};
