// Mail domains (with DKIM) and mail accounts.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dkimKey, dkimP } from '../dkim.ts';
import { E, fail } from '../errors.ts';
import { paths } from '../node.ts';
import { columnT, jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { type Ctx, formatDomain, objFrom } from './ctx.ts';
import { addRecord, bumpSerial } from './dns.ts';
import { isBaseDomainOwner, isDomainNew, notAnIp } from './domains.ts';
import type { Command } from './types.ts';
import { passwordHash } from './users.ts';

const DOMAIN_KEYS = ['ANTIVIRUS', 'ANTISPAM', 'REJECT', 'RATE_LIMIT', 'DKIM', 'CATCHALL', 'ACCOUNTS', 'U_DISK', 'SSL', 'SUSPENDED', 'TIME', 'DATE', 'WEBMAIL_ALIAS', 'WEBMAIL'];
const ACCOUNT_KEYS = ['ALIAS', 'FWD', 'FWD_ONLY', 'AUTOREPLY', 'QUOTA', 'U_DISK', 'SUSPENDED', 'TIME', 'DATE'];

/** user, domain, MAIL_SYSTEM, user exists/unsuspended, domain exists/unsuspended: the common prefix. */
function mailDomainChecks(c: Ctx, min: number, usage: string, opts: { unsuspended: boolean; domainUnsuspended?: boolean }): { user: string; domain: string } {
  c.checkArgs(min, usage);
  const user = c.arg(1); const domain = formatDomain(c.arg(2));
  if (user) v.user(user); if (domain) v.domain(domain);
  if (c.arg(3) && min >= 3) v.localpart(c.arg(3).toLowerCase(), 'account');
  c.systemEnabled('MAIL_SYSTEM');
  c.userValid(user);
  if (opts.unsuspended) c.userUnsuspended(user);
  c.objectValid(user, 'mail', 'DOMAIN', domain);
  if (opts.domainUnsuspended ?? opts.unsuspended) c.objectUnsuspended(user, 'mail', 'DOMAIN', domain);
  return { user, domain };
}

function syncAccounts(c: Ctx, user: string, domain: string): void {
  c.updateObject(user, 'mail', 'DOMAIN', domain, { ACCOUNTS: String(c.objects(user, `mail/${domain}`).length) });
}

const addMailDomain: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [ANTISPAM] [ANTIVIRUS] [DKIM] [DKIM_SIZE] [RESTART] [REJECT_SPAM]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2));
    let antispam = c.arg(3) || 'yes'; let antivirus = c.arg(4) || 'yes';
    const dkim = c.arg(5) || 'yes'; const dkimSize = c.arg(6) || '2048'; const reject = c.arg(8) || 'no';
    if (user) v.user(user); if (domain) v.domain(domain);
    v.bool(antispam, 'antispam'); v.bool(antivirus, 'antivirus'); v.bool(dkim, 'dkim'); v.int(dkimSize, 'dkim_size');
    if (c.arg(7)) v.restart(c.arg(7)); v.bool(reject, 'reject');
    c.systemEnabled('MAIL_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    isDomainNew(c, 'mail', user, [domain]);
    notAnIp(domain);
    c.packageFull(user, 'MAIL_DOMAINS', c.objects(user, 'mail').length);
    isBaseDomainOwner(c, user, [domain]);
    c.demoMode();
    if (!c.conf('ANTISPAM_SYSTEM')) antispam = 'no';
    if (!c.conf('ANTIVIRUS_SYSTEM')) antivirus = 'no';
    if (dkim === 'yes') {
      const key = dkimKey(Number(dkimSize));
      writeFileSync(paths.userFile(c.dir, user, `mail/${domain}.pem`), key.privatePem);
      writeFileSync(paths.userFile(c.dir, user, `mail/${domain}.pub`), key.publicPem);
    }
    writeFileSync(c.file(user, `mail/${domain}`), '');
    c.writeObjects(user, 'mail', [...c.objects(user, 'mail'), objFrom([
      ['DOMAIN', domain], ['ANTIVIRUS', antivirus], ['ANTISPAM', antispam], ['REJECT', reject], ['DKIM', dkim],
      ['WEBMAIL', c.conf('WEBMAIL_SYSTEM') ? 'roundcube' : ''], ['SSL', 'no'], ['LETSENCRYPT', 'no'], ['CATCHALL', ''], ['ACCOUNTS', '0'],
      ['RATE_LIMIT', c.userValue(user, 'RATE_LIMIT') || '200'], ['U_DISK', '0'], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ])]);
    c.bump(user, 'U_MAIL_DOMAINS', 1);
    if (dkim === 'yes') {
      c.bump(user, 'U_MAIL_DKIM', 1);
      // With the zone on this node, the public key goes into it as a TXT record.
      if (c.conf('DNS_SYSTEM') && c.find(user, 'dns', 'DOMAIN', domain)) {
        const p = dkimP(readFileSync(paths.userFile(c.dir, user, `mail/${domain}.pub`), 'utf8'));
        addRecord(c, user, domain, { record: 'mail._domainkey', type: 'TXT', value: `"v=DKIM1; k=rsa; p=${p}"` });
      }
    }
    return '';
  },
};

const deleteMailDomain: Command = {
  logs: true,
  run(c) {
    const { user, domain } = mailDomainChecks(c, 2, 'USER DOMAIN', { unsuspended: false });
    c.demoMode();
    const d = c.find(user, 'mail', 'DOMAIN', domain)!;
    const accounts = c.objects(user, `mail/${domain}`).length;
    // With the zone on this node, its `_domainkey` records go (v-delete-dns-record each, as the script does).
    if (d.get('DKIM') === 'yes' && c.find(user, 'dns', 'DOMAIN', domain)) {
      const recs = c.objects(user, `dns/${domain}`);
      const dkim = recs.filter((r) => /(^|\.)_domainkey(\.|$)/.test(r.get('RECORD') ?? ''));
      if (dkim.length) {
        c.writeObjects(user, `dns/${domain}`, recs.filter((r) => !dkim.includes(r)));
        bumpSerial(c, user, domain);
        c.bump(user, 'U_DNS_RECORDS', -dkim.length);
      }
    }
    // SSL=yes: v-delete-mail-domain-ssl (the certificate files, U_MAIL_SSL-1).
    if (d.get('SSL') === 'yes') {
      for (const ext of ['crt', 'key', 'ca', 'pem']) rmSync(paths.userFile(c.dir, user, `ssl/mail.${domain}.${ext}`), { force: true });
      c.bump(user, 'U_MAIL_SSL', -1);
    }
    c.writeObjects(user, 'mail', c.objects(user, 'mail').filter((o) => o.get('DOMAIN') !== domain));
    for (const ext of ['conf', 'pem', 'pub']) rmSync(paths.userFile(c.dir, user, `mail/${domain}.${ext}`), { force: true });
    c.bump(user, 'U_MAIL_DOMAINS', -1);
    c.bump(user, 'U_MAIL_ACCOUNTS', -accounts);
    if (d.get('DKIM') === 'yes') c.bump(user, 'U_MAIL_DKIM', -1);
    if (d.get('SUSPENDED') === 'yes') c.bump(user, 'SUSPENDED_MAIL', -1);
    return '';
  },
};

const listMailDomains: Command = {
  run(c) {
    const user = c.arg(1); const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'USER [FORMAT]');
    if (user) v.user(user);
    c.userValid(user);
    const objs = c.objects(user, 'mail');
    const extra = { WEBMAIL_ALIAS: c.conf('WEBMAIL_ALIAS') };
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('DOMAIN') ?? '', pick(o, DOMAIN_KEYS, extra)]));
      case 'plain': return plainRows(objs.map((o) => [o.get('DOMAIN') ?? '', ...pick(o, DOMAIN_KEYS, extra).map(([, x]) => x)]));
      case 'shell': return columnT(['DOMAIN   ANTIVIRUS   ANTISPAM   DKIM  SSL   ACC   DISK   SPND   DATE',
        '------   ---------   --------   ----  ---   ---   ----   ---   ----',
        ...objs.map((o) => ['DOMAIN', 'ANTIVIRUS', 'ANTISPAM', 'DKIM', 'SSL', 'ACCOUNTS', 'U_DISK', 'SUSPENDED', 'DATE'].map((k) => o.get(k) ?? '').join(' '))]);
      default: return '';
    }
  },
};

const listDkimDns: Command = {
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [FORMAT]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const format = c.args.length >= 3 ? c.arg(3) : 'shell';
    if (user) v.user(user); if (domain) v.domain(domain);
    c.userValid(user);
    c.objectValid(user, 'mail', 'DOMAIN', domain);
    const pubFile = paths.userFile(c.dir, user, `mail/${domain}.pub`);
    const pub = existsSync(pubFile) ? dkimP(readFileSync(pubFile, 'utf8')) : 'DKIM-SUPPORT-IS-NOT-ACTIVATED';
    switch (format) {
      case 'json': return `{\n\n\t"mail._domainkey": {\n            "TTL": "3600",\n            "TXT": "'v=DKIM1; k=rsa; p=${pub}'"\n\t}\n}\n`;
      case 'plain': return `mail._domainkey\t3600\tIN\tTXT\t"v=DKIM1; k=rsa; p=${pub}"\n`;
      case 'shell': return columnT(['RECORD            TTL         TYPE      VALUE', '------            ---         ----      -----',
        `mail._domainkey   3600   IN   TXT      "v=DKIM1; k=rsa; p=${pub}"`], '^');
      default: return '';
    }
  },
};

const addMailAccount: Command = {
  hide: 4, logs: true,
  run(c) {
    c.checkArgs(4, 'USER DOMAIN ACCOUNT PASSWORD [QUOTA]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const account = c.arg(3).toLowerCase();
    const quota = c.arg(5) || 'unlimited';
    if (user) v.user(user); if (domain) v.domain(domain); if (account) v.localpart(account, 'account');
    v.quota(quota);
    c.systemEnabled('MAIL_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    c.objectValid(user, 'mail', 'DOMAIN', domain); c.objectUnsuspended(user, 'mail', 'DOMAIN', domain);
    c.packageFull(user, 'MAIL_ACCOUNTS', c.objects(user, `mail/${domain}`).length);
    const accts = c.objects(user, `mail/${domain}`);
    if (accts.some((a) => a.get('ACCOUNT') === account)) fail(E.EXISTS, `mail account ${account} already exists`);
    if (accts.some((a) => (a.get('ALIAS') ?? '').split(',').includes(account))) fail(E.EXISTS, `mail alias ${account} already exists`);
    const password = c.passwordArg(c.arg(4));
    c.demoMode();
    c.writeObjects(user, `mail/${domain}`, [...accts, objFrom([
      ['ACCOUNT', account], ['ALIAS', ''], ['AUTOREPLY', 'no'], ['FWD', ''], ['FWD_ONLY', ''], ['MD5', passwordHash(password)],
      ['QUOTA', quota], ['U_DISK', '0'], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ])]);
    syncAccounts(c, user, domain);
    c.bump(user, 'U_MAIL_ACCOUNTS', 1);
    return '';
  },
};

const deleteMailAccount: Command = {
  logs: true,
  run(c) {
    const { user, domain } = mailDomainChecks(c, 3, 'USER DOMAIN ACCOUNT', { unsuspended: false });
    const account = c.arg(3).toLowerCase();
    c.objectValid(user, `mail/${domain}`, 'ACCOUNT', account);
    c.demoMode();
    c.writeObjects(user, `mail/${domain}`, c.objects(user, `mail/${domain}`).filter((a) => a.get('ACCOUNT') !== account));
    syncAccounts(c, user, domain);
    c.bump(user, 'U_MAIL_ACCOUNTS', -1);
    return '';
  },
};

function suspendAccount(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      const { user, domain } = mailDomainChecks(c, 3, 'USER DOMAIN ACCOUNT', { unsuspended: flag === 'yes', domainUnsuspended: true });
      const account = c.arg(3).toLowerCase();
      c.objectValid(user, `mail/${domain}`, 'ACCOUNT', account);
      if (flag === 'yes') c.objectUnsuspended(user, `mail/${domain}`, 'ACCOUNT', account);
      else c.objectSuspended(user, `mail/${domain}`, 'ACCOUNT', account);
      c.demoMode();
      c.updateObject(user, `mail/${domain}`, 'ACCOUNT', account, { SUSPENDED: flag });
      return '';
    },
  };
}

const changeAccountPassword: Command = {
  hide: 4, logs: true,
  run(c) {
    const { user, domain } = mailDomainChecks(c, 4, 'USER DOMAIN ACCOUNT PASSWORD', { unsuspended: true });
    const account = c.arg(3).toLowerCase();
    c.objectValid(user, `mail/${domain}`, 'ACCOUNT', account);
    c.objectUnsuspended(user, `mail/${domain}`, 'ACCOUNT', account);
    const password = c.passwordArg(c.arg(4));
    c.demoMode();
    c.updateObject(user, `mail/${domain}`, 'ACCOUNT', account, { MD5: passwordHash(password) });
    return '';
  },
};

const changeAccountQuota: Command = {
  logs: true,
  run(c) {
    c.checkArgs(4, 'USER DOMAIN ACCOUNT QUOTA');
    if (c.arg(4)) v.quota(c.arg(4));
    const { user, domain } = mailDomainChecks(c, 4, 'USER DOMAIN ACCOUNT QUOTA', { unsuspended: true });
    const account = c.arg(3).toLowerCase();
    c.objectValid(user, `mail/${domain}`, 'ACCOUNT', account);
    c.objectUnsuspended(user, `mail/${domain}`, 'ACCOUNT', account);
    c.demoMode();
    // 0 is stored as unlimited.
    c.updateObject(user, `mail/${domain}`, 'ACCOUNT', account, { QUOTA: c.arg(4) === '0' ? 'unlimited' : c.arg(4) });
    return '';
  },
};

const listMailAccounts: Command = {
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [FORMAT]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const format = c.args.length >= 3 ? c.arg(3) : 'shell';
    if (user) v.user(user); if (domain) v.domain(domain);
    c.userValid(user);
    c.objectValid(user, 'mail', 'DOMAIN', domain);
    const objs = c.objects(user, `mail/${domain}`);
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('ACCOUNT') ?? '', pick(o, ACCOUNT_KEYS)]));
      case 'plain': return plainRows(objs.map((o) => [o.get('ACCOUNT') ?? '', ...pick(o, ACCOUNT_KEYS).map(([, x]) => x)]));
      case 'shell': return columnT(['ACCOUNT   ALIAS   FWD   DISK  DATE', '-------   -----   ---   ----  ----',
        ...objs.map((o) => `${o.get('ACCOUNT')} ${o.get('ALIAS') || 'no'} ${o.get('FWD') || 'no'} ${o.get('U_DISK')} ${o.get('DATE')}`)]);
      default: return '';
    }
  },
};

export const mailCommands: Record<string, Command> = {
  'v-add-mail-domain': addMailDomain, 'v-delete-mail-domain': deleteMailDomain, 'v-list-mail-domains': listMailDomains,
  'v-list-mail-domain-dkim-dns': listDkimDns, 'v-add-mail-account': addMailAccount, 'v-delete-mail-account': deleteMailAccount,
  'v-suspend-mail-account': suspendAccount('yes'), 'v-unsuspend-mail-account': suspendAccount('no'),
  'v-change-mail-account-password': changeAccountPassword, 'v-change-mail-account-quota': changeAccountQuota,
  'v-list-mail-accounts': listMailAccounts,
};
