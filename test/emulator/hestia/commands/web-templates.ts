// A web domain's templates: v-list-web-templates, -backend, -proxy and v-change-web-domain-tpl,
// -backend-tpl, -proxy-tpl, as HestiaCP 1.10 has them (reference §8.6). The emulator keeps one flat
// directory per kind (data/templates/<web|backend|proxy>/<name>.tpl) where HestiaCP nests them under
// the web, backend and proxy systems' names; a template is a file there. A fresh node has only
// `default` of each (node.ts); setWebTemplates gives a node the set a test wants.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { E, fail } from '../errors.ts';
import { paths } from '../node.ts';
import * as v from '../validate.ts';
import { type Ctx, formatDomain } from './ctx.ts';
import type { Command } from './types.ts';

export type TemplateKind = 'web' | 'backend' | 'proxy';

/** What a HestiaCP install with nginx + apache2 + PHP-FPM typically ships (a sample, not every file). */
export const TYPICAL_WEB_TEMPLATES: Record<TemplateKind, string[]> = {
  web: ['default', 'basedir', 'hosting'],
  backend: ['default', 'PHP-8_2', 'PHP-8_3', 'no-php'],
  proxy: ['default', 'caching', 'hosting'],
};

/** The node's templates of one kind become exactly `names` (for tests: more, or fewer, than a fresh node's). */
export function setWebTemplates(dir: string, kind: TemplateKind, names: string[]): void {
  const d = dirname(paths.template(dir, kind, 'x'));
  mkdirSync(d, { recursive: true });
  for (const f of readdirSync(d)) if (f.endsWith('.tpl')) rmSync(`${d}/${f}`);
  for (const n of names) writeFileSync(paths.template(dir, kind, n), '# emulator template\n');
}

/** Which hestia.conf key enables each kind (its list is empty, its change command → 11, without it). */
const SYSTEM: Record<TemplateKind, string> = { web: 'WEB_SYSTEM', backend: 'WEB_BACKEND', proxy: 'PROXY_SYSTEM' };
const LABEL: Record<TemplateKind, string> = { web: 'web', backend: 'backend', proxy: 'proxy' };
const PROXY_EXT = 'jpeg,jpg,png,gif,bmp,ico,svg,tif,tiff,css,js,ttf,otf,webp,txt,csv,rtf,doc,docx,xls,xlsx,ppt,pptx,odf,odp,ods,odt,pdf,psd,ai,eot,eps,ps,zip,tar,tgz,gz,rar,bz2,7z,aac,m4a,mp3,mp4,ogg,wav,wma,3gp,avi,flv,m4v,mkv,mov,mpeg,mpg,wmv,exe,iso,dmg,swf,woff,woff2';

function templates(c: Ctx, kind: TemplateKind): string[] {
  if (!c.conf(SYSTEM[kind])) return [];
  const d = dirname(paths.template(c.dir, kind, 'x'));
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith('.tpl')).map((f) => f.slice(0, -4)).filter((n) => n !== 'proxy_ip').sort((a, b) => a.localeCompare(b));
}

function listTemplates(kind: TemplateKind): Command {
  return {
    run(c) {
      const format = c.args.length >= 1 ? c.arg(1) : 'shell';
      const names = templates(c, kind);
      switch (format) {
        // A bare array of strings, not an object (json_list in the script).
        case 'json': return names.length ? `[\n${names.map((n) => `    "${n}"`).join(',\n')}\n]\n` : '[]\n';
        case 'plain': case 'csv': case 'list': return names.map((n) => `${n}\n`).join('');
        case 'shell': return ['TEMPLATE', '--------', ...names].map((l) => `${l}\n`).join('');
        default: return '';
      }
    },
  };
}

function changeTemplate(kind: TemplateKind): Command {
  const usage = kind === 'proxy' ? 'USER DOMAIN TEMPLATE [EXTENSIONS] [RESTART]' : 'USER DOMAIN TEMPLATE [RESTART]';
  return {
    logs: true,
    run(c) {
      c.checkArgs(3, usage);
      const user = c.arg(1);
      const domain = formatDomain(c.arg(2));
      const tpl = c.arg(3);
      const ext = kind === 'proxy' ? c.arg(4) : '';
      const restart = kind === 'proxy' ? c.arg(5) : c.arg(4);
      v.user(user); v.domain(domain); v.object(tpl, 'template');
      if (ext && !/^[A-Za-z0-9,]+$/.test(ext)) fail(E.INVALID, `invalid extensions format :: ${ext}`);
      if (restart) v.restart(restart);
      c.systemEnabled(SYSTEM[kind]);
      c.userValid(user); c.userUnsuspended(user);
      const w = c.objectValid(user, 'web', 'DOMAIN', domain);
      c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
      if (kind === 'proxy' && !w.get('PROXY')) fail(E.NOTEXIST, 'PROXY= doesn\'t exist');
      if (!existsSync(paths.template(c.dir, kind, tpl))) fail(E.NOTEXIST, `${tpl} ${LABEL[kind]} template doesn't exist`);
      c.demoMode();
      const changes: Record<string, string> = kind === 'web' ? { TPL: tpl } : kind === 'backend' ? { BACKEND: tpl } : { PROXY: tpl, PROXY_EXT: ext || PROXY_EXT };
      c.updateObject(user, 'web', 'DOMAIN', domain, changes);
      return '';
    },
  };
}

export const webTemplateCommands: Record<string, Command> = {
  'v-list-web-templates': listTemplates('web'), 'v-list-web-templates-backend': listTemplates('backend'), 'v-list-web-templates-proxy': listTemplates('proxy'),
  'v-change-web-domain-tpl': changeTemplate('web'), 'v-change-web-domain-backend-tpl': changeTemplate('backend'), 'v-change-web-domain-proxy-tpl': changeTemplate('proxy'),
};
