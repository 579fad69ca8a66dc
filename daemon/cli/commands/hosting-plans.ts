// Hosting plan profiles from the command line: add reads the profile as JSON on standard input (the
// same body as POST /v1/hosting-plans); set changes single fields (web.backend_template=PHP-8_3) or,
// without any, replaces the profile with JSON on standard input; list prints one JSON line per
// profile, show one profile; delete refuses a profile a live service was built from.
import { InputError } from '../../common/errors.ts';
import { addHostingPlan, getHostingPlan, listHostingPlans, removeHostingPlan, updateHostingPlan } from '../../fleet/hosting-plans.ts';
import type { HostingPlanInput } from '../../pipelines/hosting-plan.ts';
import { noMore } from '../args.ts';
import { UsageError, type CommandGroup } from '../command.ts';
import { report } from '../core.ts';
import { readStdinJson as stdinJson } from '../io.ts';
import { listCommand, profileId, removeCommand, showCommand, type ProfileKind } from './profile-commands.ts';

const kind: ProfileKind = {
  command: 'hosting-plan', noun: 'hosting plan', plural: 'hosting plans', removeVerb: 'delete',
  list: listHostingPlans, get: getHostingPlan, remove: removeHostingPlan,
};

/** `section.field=value` pairs applied to a copy of the profile; a number stays a number, the rest is text (checked on save). */
function applyPairs(profile: Record<string, unknown>, pairs: string[]): Record<string, unknown> {
  const next = JSON.parse(JSON.stringify(profile)) as Record<string, any>;
  for (const pair of pairs) {
    const m = /^(name|(web|dns|mail|unified)\.([a-z_]+))=(.*)$/s.exec(pair);
    if (!m) throw new UsageError(`hosting-plan set takes name=<slug> or <web|dns|mail|unified>.<field>=<value>, not "${pair.slice(0, 60)}"`);
    const value: unknown = /^\d{1,10}$/.test(m[4]!) ? Number(m[4]) : m[4];
    if (m[1] === 'name') next.name = value;
    else next[m[2]!] = { ...(next[m[2]!] ?? {}), [m[3]!]: value };
  }
  return next;
}

export const hostingPlanCommands: CommandGroup = {
  title: 'Hosting plan profiles (docs/hosting-plans.md; JSON on standard input)',
  commands: [
    {
      name: 'hosting-plan add', usage: 'hosting-plan add < plan.json', describe: 'add a hosting plan profile: see docs/hosting-plans.md for the fields',
      async run(args, ctx) {
        noMore(args, 'hosting-plan add');
        const body = await stdinJson('hosting-plan add');
        return report(ctx.config(), async (core) => `hosting plan ${await addHostingPlan(core.db, body as HostingPlanInput)} added`);
      },
    },
    listCommand(kind),
    showCommand(kind),
    {
      name: 'hosting-plan set', usage: 'hosting-plan set <id> [<section>.<field>=<value>…] (or < plan.json)',
      describe: 'change fields of a hosting plan profile (e.g. web.backend_template=PHP-8_3 mail.accounts=unlimited); without any, replace it with the JSON on standard input',
      async run(args, ctx) {
        const planId = profileId(args, kind, 'set');
        const pairs = args.splice(0);
        const body = pairs.length ? null : await stdinJson('hosting-plan set');
        return report(ctx.config(), async (core) => {
          let next = body;
          if (!next) {
            const p = await getHostingPlan(core.db, planId);
            if (!p) throw new InputError('', `hosting plan ${planId} does not exist`, 404);
            const { id: _id, created_at: _c, updated_at: _u, ...spec } = p;
            next = applyPairs(spec as unknown as Record<string, unknown>, pairs);
          }
          await updateHostingPlan(core.db, planId, next as HostingPlanInput);
          return `hosting plan ${planId} saved`;
        });
      },
    },
    removeCommand(kind),
  ],
};
