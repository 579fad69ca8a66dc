// v-add-web-domain, v-delete-web-domain, v-list-web-domains, v-(un)suspend-web-domain.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readKeyFile } from '../conf.ts';
import { E, fail } from '../errors.ts';
import { paths, readPasswd, writePasswd } from '../node.ts';
import { jsonObjects, pick, plainRows } from '../output.ts';
import * as v from '../validate.ts';
import { type Ctx, formatDomain, objFrom } from './ctx.ts';
import { isBaseDomainOwner, isDomainNew, notAnIp } from './domains.ts';
import type { Command } from './types.ts';
import { ipWebCount } from './users.ts';

const PROXY_EXT = 'jpeg,jpg,png,gif,bmp,ico,svg,tif,tiff,css,js,ttf,otf,webp,txt,csv,rtf,doc,docx,xls,xlsx,ppt,pptx,odf,odp,ods,odt,pdf,psd,ai,eot,eps,ps,zip,tar,tgz,gz,rar,bz2,7z,aac,m4a,mp3,mp4,ogg,wav,wma,3gp,avi,flv,m4v,mkv,mov,mpeg,mpg,wmv,exe,iso,dmg,swf,woff,woff2';
const LIST_KEYS = ['IP', 'IP6', 'DOCUMENT_ROOT', 'U_DISK', 'U_BANDWIDTH', 'TPL', 'ALIAS', 'STATS', 'STATS_USER', 'SSL', 'SSL_HOME',
  'LETSENCRYPT', 'FTP_USER', 'FTP_PATH', 'AUTH_USER', 'BACKEND', 'PROXY', 'PROXY_EXT', 'SUSPENDED', 'TIME', 'DATE'];

/** get_user_ip: a shared IP (or one dedicated to the user). */
function userIp(c: Ctx, user: string): string | undefined {
  const dir = paths.ips(c.dir);
  if (!existsSync(dir)) return undefined;
  return readdirSync(dir).find((ip) => {
    const o = readKeyFile(paths.ip(c.dir, ip));
    return o.get('STATUS') === 'shared' || o.get('OWNER') === user;
  });
}

const addWebDomain: Command = {
  logs: true,
  run(c) {
    c.systemEnabled('WEB_SYSTEM');
    c.checkArgs(2, 'USER DOMAIN [IP] [RESTART] [ALIASES] [PROXY_EXTENSIONS]');
    const user = c.arg(1);
    const domain = formatDomain(c.arg(2));
    let ip = c.arg(3);
    const restart = c.arg(4);
    const aliasArg = c.arg(5);
    if (user) v.user(user); if (domain) v.domain(domain);
    if (aliasArg && aliasArg !== 'none') v.aliases(aliasArg);
    if (ip) v.ip(ip); if (restart) v.restart(restart);
    c.userValid(user); c.userUnsuspended(user);
    c.packageFull(user, 'WEB_DOMAINS', c.objects(user, 'web').length);
    // Default alias www.<d>, not for subdomains; `none` means none.
    let aliases: string[];
    if (aliasArg === 'none') aliases = [];
    else if (aliasArg) aliases = aliasArg.toLowerCase().split(/[,\s]+/).filter(Boolean).map((a) => a.replace(/^\.+|\.+$/g, ''));
    else aliases = domain.split('.').length === 2 ? [`www.${domain}`] : [];
    aliases = aliases.filter((a) => a !== domain);
    if (aliasArg !== 'none' && aliases.length) c.packageFull(user, 'WEB_ALIASES', Number(c.userValue(user, 'U_WEB_ALIASES')) + aliases.length, false);
    isDomainNew(c, 'web', user, [domain, ...aliases]);
    notAnIp(domain);
    isBaseDomainOwner(c, user, [domain, ...aliases]);
    if (ip) {
      if (!existsSync(paths.ip(c.dir, ip))) fail(E.NOTEXIST, `IP ${ip} doesn't exist`);
      const o = readKeyFile(paths.ip(c.dir, ip));
      if (o.get('STATUS') === 'dedicated' && o.get('OWNER') !== user) fail(E.FORBIDEN, `IP ${ip} is dedicated to another user`);
    } else {
      ip = userIp(c, user) ?? '';
      if (!ip) fail(E.NOTEXIST, 'no IP is available');
    }
    const home = join(paths.home(c.dir, user), 'web', domain);
    if (existsSync(home)) fail(E.EXISTS, `domain ${domain} exists`);
    c.demoMode();
    for (const sub of ['public_html', 'document_errors', 'cgi-bin', 'private', 'stats', 'logs']) mkdirSync(join(home, sub), { recursive: true });
    const u = c.userConf(user);
    c.writeObjects(user, 'web', [...c.objects(user, 'web'), objFrom([
      ['DOMAIN', domain], ['IP', ip], ['IP6', ''], ['CUSTOM_DOCROOT', ''], ['ALIAS', aliases.join(',')], ['TPL', u.get('WEB_TEMPLATE') ?? 'default'],
      ['SSL', 'no'], ['SSL_FORCE', 'no'], ['SSL_HOME', 'same'], ['LETSENCRYPT', 'no'], ['FTP_USER', ''], ['FTP_MD5', ''],
      ['BACKEND', c.conf('WEB_BACKEND') ? u.get('BACKEND_TEMPLATE') ?? 'default' : ''], ['PROXY', c.conf('PROXY_SYSTEM') ? u.get('PROXY_TEMPLATE') ?? 'default' : ''],
      ['PROXY_EXT', c.conf('PROXY_SYSTEM') ? c.arg(6) || PROXY_EXT : ''], ['STATS', ''], ['STATS_USER', ''], ['STATS_CRYPT', ''],
      ['U_DISK', '0'], ['U_BANDWIDTH', '0'], ['SUSPENDED', 'no'], ['TIME', c.stamp.time], ['DATE', c.stamp.date],
    ])]);
    c.bump(user, 'U_WEB_DOMAINS', 1);
    c.bump(user, 'U_WEB_ALIASES', aliases.length);
    ipWebCount(c, ip, user, 1);
    return '';
  },
};

const deleteWebDomain: Command = {
  logs: true,
  run(c) {
    c.checkArgs(2, 'USER DOMAIN [RESTART]');
    const user = c.arg(1); const domain = formatDomain(c.arg(2));
    if (user) v.user(user); if (domain) v.domain(domain); if (c.arg(3)) v.restart(c.arg(3));
    c.systemEnabled('WEB_SYSTEM');
    c.userValid(user);
    const w = c.objectValid(user, 'web', 'DOMAIN', domain);
    c.demoMode();
    c.writeObjects(user, 'web', c.objects(user, 'web').filter((o) => o.get('DOMAIN') !== domain));
    // The domain's FTP accounts are system users: HestiaCP removes them with it.
    const ftp = (w.get('FTP_USER') ?? '').split(':').filter(Boolean);
    if (ftp.length) writePasswd(c.dir, readPasswd(c.dir).filter((e) => !ftp.includes(e.name)));
    rmSync(join(paths.home(c.dir, user), 'web', domain), { recursive: true, force: true });
    for (const ext of ['crt', 'key', 'ca', 'pem']) rmSync(paths.userFile(c.dir, user, `ssl/${domain}.${ext}`), { force: true });
    c.bump(user, 'U_WEB_DOMAINS', -1);
    c.bump(user, 'U_WEB_ALIASES', -(w.get('ALIAS') ?? '').split(',').filter(Boolean).length);
    if (w.get('SSL') === 'yes') c.bump(user, 'U_WEB_SSL', -1);
    if (w.get('SUSPENDED') === 'yes') c.bump(user, 'SUSPENDED_WEB', -1);
    ipWebCount(c, w.get('IP') ?? '', user, -1);
    return '';
  },
};

function suspendWeb(flag: 'yes' | 'no'): Command {
  return {
    logs: true,
    run(c) {
      c.checkArgs(2, 'USER DOMAIN [RESTART]');
      const user = c.arg(1); const domain = formatDomain(c.arg(2));
      if (user) v.user(user); if (domain) v.domain(domain); if (c.arg(3)) v.restart(c.arg(3));
      c.systemEnabled('WEB_SYSTEM');
      c.userValid(user);
      c.objectValid(user, 'web', 'DOMAIN', domain);
      if (flag === 'yes') c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
      else c.objectSuspended(user, 'web', 'DOMAIN', domain);
      c.demoMode();
      c.updateObject(user, 'web', 'DOMAIN', domain, { SUSPENDED: flag });
      c.bump(user, 'SUSPENDED_WEB', flag === 'yes' ? 1 : -1);
      return '';
    },
  };
}

const listWebDomains: Command = {
  run(c) {
    const user = c.arg(1);
    const format = c.args.length >= 2 ? c.arg(2) : 'shell';
    c.checkArgs(1, 'USER [FORMAT]');
    if (user) v.user(user);
    c.userValid(user);
    const objs = c.objects(user, 'web');
    const docroot = (o: Map<string, string>) => o.get('CUSTOM_DOCROOT') || `/home/${user}/web/${o.get('DOMAIN')}/public_html/`;
    switch (format) {
      case 'json': return jsonObjects(objs.map((o) => [o.get('DOMAIN') ?? '', pick(o, LIST_KEYS, { DOCUMENT_ROOT: docroot(o) })]));
      case 'plain': return plainRows(objs.map((o) => [o.get('DOMAIN') ?? '', ...pick(o, LIST_KEYS, { DOCUMENT_ROOT: docroot(o) }).map(([, x]) => x)]));
      // v-list-web-domains prints its shell rows without `column -t`.
      case 'shell': return ['DOMAIN   IP   TPL   SSL   DISK   BW   SPND   DATE', '------   --   ---   ---   ----   --   ----   -----',
        ...objs.map((o) => ['DOMAIN', 'IP', 'TPL', 'SSL', 'U_DISK', 'U_BANDWIDTH', 'SUSPENDED', 'DATE'].map((k) => o.get(k) ?? '').join(' '))].map((l) => l + '\n').join('');
      default: return '';
    }
  },
};

export const webCommands: Record<string, Command> = {
  'v-add-web-domain': addWebDomain, 'v-delete-web-domain': deleteWebDomain, 'v-list-web-domains': listWebDomains,
  'v-suspend-web-domain': suspendWeb('yes'), 'v-unsuspend-web-domain': suspendWeb('no'),
};
