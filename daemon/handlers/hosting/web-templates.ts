// The web.templates step: the web domain of a service whose plan has a hosting plan profile gets the
// profile's backend (PHP), web and proxy templates. v-add-web-domain already takes them from the
// user's package; v-change-user-package does not re-template existing domains, so after a package
// change (or on an old domain) this makes it true, and checks it either way. Looks, changes only
// what differs, looks again. The PHP and proxy templates the customer picked in the panel's Web
// settings tab (mod_hostbridge_web_settings) are kept instead of the plan's while the web server still
// offers them (the panel's choices are the node's list: a plan holds one default per kind, not a list);
// a choice the server no longer lists is forgotten and the plan's default applied, the log says why.
import type { TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import type { HestiaDriver, PackageLimits } from '../../drivers/hestia/index.ts';
import { webTemplates } from '../../pipelines/hosting-plan.ts';
import { saveTemplateChoice, webSettings } from '../../services/hosting-panel/web-settings.ts';
import { loadService, type HostingDeps } from './context.ts';
import { registerStep } from '../step-args.ts';

type Kind = 'backend' | 'web' | 'proxy';
/** Backend first: the web template of a node with PHP-FPM lives under its backend's directory. */
const ORDER: Kind[] = ['backend', 'web', 'proxy'];
const FIELD: Record<Kind, 'BACKEND' | 'TPL' | 'PROXY'> = { backend: 'BACKEND', web: 'TPL', proxy: 'PROXY' };
/** HestiaCP 1.10's PROXY_EXT of a new web domain, which v-change-web-domain-proxy-tpl restores when EXTENSIONS is left out. */
export const HESTIA_PROXY_EXT = 'jpeg,jpg,png,gif,bmp,ico,svg,tif,tiff,css,js,ttf,otf,webp,txt,csv,rtf,doc,docx,xls,xlsx,ppt,pptx,odf,odp,ods,odt,pdf,psd,ai,eot,eps,ps,zip,tar,tgz,gz,rar,bz2,7z,aac,m4a,mp3,mp4,ogg,wav,wma,3gp,avi,flv,m4v,mkv,mov,mpeg,mpg,wmv,exe,iso,dmg,swf,woff,woff2';
const WHAT: Record<Kind, string> = { backend: 'backend (PHP) template', web: 'web template', proxy: 'proxy template' };

function missing(kind: Kind, name: string, planName: string, serverName: string, available: string[]): TerminalError {
  return new TerminalError(`${WHAT[kind]} "${name}"${planName ? ` of hosting plan "${planName}"` : ''} does not exist on ${serverName}; the node has: ${available.join(', ') || 'none'}. ` +
    'Add the template to the node or pick one of these in the hosting plan');
}

/**
 * After v-add-user-package refused a package (E_NOTEXIST): the first of its web, backend and proxy
 * templates the node lacks, as an error naming it and the node's list; null when all are there
 * (the refusal was about something else).
 */
export async function packageTemplateMissing(driver: HestiaDriver, serverName: string, limits: PackageLimits, planName: string): Promise<TerminalError | null> {
  const keys: Record<Kind, string> = { backend: 'BACKEND_TEMPLATE', web: 'WEB_TEMPLATE', proxy: 'PROXY_TEMPLATE' };
  for (const kind of ORDER) {
    const name = String(limits[keys[kind]] ?? '');
    if (name === '') continue;
    const available = await driver.listWebTemplates(kind);
    // A node without the system lists none and does not check that template.
    if (available.length && !available.includes(name)) return missing(kind, name, planName, serverName, available);
  }
  return null;
}

export function registerWebTemplateHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'web.templates', 'Sets the hosting plan profile\'s backend (PHP), web and proxy templates on the service\'s web domain, keeping the PHP and proxy templates the customer picked while the server offers them.', async (ctx, a) => {
    const [svc, { driver, server }] = await Promise.all([loadService(deps, ctx), deps.fleet.hestia(a.server, ctx)]);
    const want = webTemplates(svc.plan.product);
    if (!want) {
      // The plan lost its profile after this step was queued (a package change): nothing to apply.
      ctx.log('the service\'s plan has no hosting plan profile now: the domain keeps its templates');
      return { skipped: true };
    }
    const planName = svc.plan.product.hostingPlan?.name ?? '';
    const read = async () => {
      const d = (await driver.listWebDomains(a.user))[a.domain];
      if (!d) throw new TerminalError(`web domain ${a.domain} is missing under ${a.user} on ${server.name}; the web step must run first`);
      return d;
    };
    const [before, chosen] = await Promise.all([read(), webSettings(deps.db, svc.id)]);
    const skipped = new Set<Kind>();
    const target: Record<Kind, string> = { ...want };
    for (const kind of ORDER) {
      const have = before[FIELD[kind]] ?? '';
      if (have === '' && kind !== 'web') {
        // HestiaCP leaves BACKEND / PROXY empty when the node has no WEB_BACKEND / PROXY_SYSTEM.
        ctx.log(`${server.name} has no ${kind === 'proxy' ? 'proxy (PROXY_SYSTEM is empty)' : 'PHP backend (WEB_BACKEND is empty)'}: ${WHAT[kind]} "${want[kind]}" skipped`);
        skipped.add(kind);
        continue;
      }
      let available: string[] | null = null;
      const choice = kind === 'web' ? null : chosen[kind];
      if (choice !== null && kind !== 'web') {
        available = await driver.listWebTemplates(kind);
        if (available.includes(choice)) {
          target[kind] = choice;
          if (choice !== want[kind]) ctx.log(`${WHAT[kind]}: the customer's choice ${choice} is kept (the plan's default is ${want[kind]})`);
        } else {
          ctx.log(`${WHAT[kind]}: the customer's choice ${choice} is no longer offered on ${server.name} (it has: ${available.join(', ') || 'none'}), so the plan's default ${want[kind]} applies`);
          await saveTemplateChoice(deps.db, svc.id, kind, null);
        }
      }
      if (have === target[kind]) {
        ctx.log(`${WHAT[kind]} of ${a.domain} is ${have}, as wanted`);
        continue;
      }
      available ??= await driver.listWebTemplates(kind);
      if (!available.includes(target[kind])) throw missing(kind, target[kind], planName, server.name, available);
      ctx.log(`${WHAT[kind]} of ${a.domain}: ${have || 'none'} → ${target[kind]}`);
      // The domain's own proxy extensions are kept; the default list needs no argument (HestiaCP restores it).
      const ext = before.PROXY_EXT ?? '';
      await driver.changeWebDomainTemplate(a.user, a.domain, kind, target[kind], kind === 'proxy' && ext !== HESTIA_PROXY_EXT && ext !== '' ? { proxyExtensions: ext } : {});
    }
    const after = await read();
    const wrong = ORDER.filter((k) => !skipped.has(k) && after[FIELD[k]] !== target[k]);
    if (wrong.length) {
      throw new TerminalError(`web domain ${a.domain} on ${server.name} still has ${wrong.map((k) => `${WHAT[k]} ${after[FIELD[k]] || 'none'} (not ${target[k]})`).join(', ')} after the change`);
    }
    return { domain: a.domain, web: after.TPL, backend: after.BACKEND ?? '', proxy: after.PROXY ?? '', skipped: [...skipped] };
  });
}
