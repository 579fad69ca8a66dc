// Web domain aliases: v-add-web-domain-alias, v-delete-web-domain-alias (bin/ at d128cc6). They
// change web.conf's ALIAS list and U_WEB_ALIASES only: no DNS record, no certificate change.
import { E, fail } from '../errors.ts';
import * as v from '../validate.ts';
import { formatDomain } from './ctx.ts';
import { isBaseDomainOwner, isDomainNew } from './domains.ts';
import type { Command } from './types.ts';

/** format_aliases: lower-case, one per comma, edge dots and repeated dots dropped, sorted, unique. */
function formatAliases(raw: string): string[] {
  if (raw === '' || raw === 'none') return raw === '' ? [] : ['none'];
  const items = raw.toLowerCase().split(',').map((a) => a.replace(/\.$/, '').replace(/\.{2,}/g, '.').replace(/\.+$/, '').replace(/^\.+/, '')).filter((a) => a !== '');
  return [...new Set(items)].sort();
}

const addAlias: Command = {
  logs: true,
  run(c) {
    const user = c.arg(1); const domain = formatDomain(c.arg(2)); const restart = c.arg(4);
    const aliases = formatAliases(c.arg(3));
    // Checked before the argument count.
    if (aliases.length === 0) fail(E.INVALID, 'Invalid alias format: empty');
    c.checkArgs(3, 'USER DOMAIN ALIASES [RESTART]');
    if (user) v.user(user); if (domain) v.domain(domain);
    v.aliases(aliases.join(','));
    if (restart) v.restart(restart);
    c.systemEnabled('WEB_SYSTEM');
    c.userValid(user); c.userUnsuspended(user);
    const web = c.objectValid(user, 'web', 'DOMAIN', domain); c.objectUnsuspended(user, 'web', 'DOMAIN', domain);
    isDomainNew(c, 'web', user, aliases);
    isBaseDomainOwner(c, user, aliases);
    c.demoMode();
    const all = [...(web.get('ALIAS') ?? '').split(',').filter(Boolean), ...aliases];
    // is_package_full WEB_ALIASES counts the domain's list with the new names in it, and only "> limit" fails.
    c.packageFull(user, 'WEB_ALIASES', all.length, false);
    c.updateObject(user, 'web', 'DOMAIN', domain, { ALIAS: all.join(',') });
    // increase_user_value adds one, however many names were given.
    c.bump(user, 'U_WEB_ALIASES', 1);
    return '';
  },
};

const deleteAlias: Command = {
  logs: true,
  run(c) {
    // No format_domain here: DOMAIN is matched as given.
    const user = c.arg(1); const domain = c.arg(2); const alias = c.arg(3); const restart = c.arg(4);
    c.checkArgs(3, 'USER DOMAIN DOM_ALIAS [RESTART]');
    if (user) v.user(user); if (domain) v.domain(domain); if (alias) v.aliases(alias);
    if (restart) v.restart(restart);
    c.systemEnabled('WEB_SYSTEM');
    c.userValid(user);
    const web = c.objectValid(user, 'web', 'DOMAIN', domain);
    const list = (web.get('ALIAS') ?? '').split(',').filter(Boolean);
    if (!list.includes(alias)) fail(E.NOTEXIST, `alias ${alias} doesn't exist`);
    c.demoMode();
    c.updateObject(user, 'web', 'DOMAIN', domain, { ALIAS: list.filter((a) => a !== alias).join(',') });
    c.bump(user, 'U_WEB_ALIASES', -1);
    return '';
  },
};

export const aliasCommands: Record<string, Command> = {
  'v-add-web-domain-alias': addAlias, 'v-delete-web-domain-alias': deleteAlias,
};
