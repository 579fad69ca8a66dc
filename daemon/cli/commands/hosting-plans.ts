// Hosting plan profiles from the command line: add reads the profile as JSON on standard input (the
// same body as POST /v1/hosting-plans); set changes single fields (web.backend_template=PHP-8_3) or,
// without any, replaces the profile with JSON on standard input; list prints one JSON line per
// profile, show one profile; delete refuses a profile a live service was built from.
import { InputError } from '../../common/errors.ts';
import { addHostingPlan, getHostingPlan, listHostingPlans, removeHostingPlan, updateHostingPlan } from '../../fleet/hosting-plans.ts';
import type { HostingPlanInput } from '../../pipelines/hosting-plan.ts';
import { id, noMore, positional } from '../args.ts';
import { UsageError, type CommandGroup } from '../command.ts';
import { report, withCore } from '../core.ts';
import { out, readStdin } from '../io.ts';

async function stdinJson(command: string): Promise<unknown> {
  const text = await readStdin();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${command} reads a JSON object on standard input; that was not JSON (${(err as Error).message})`);
  }
}

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
    {
      name: 'hosting-plan list', usage: 'hosting-plan list', describe: 'list hosting plan profiles, one JSON line each',
      async run(args, ctx) {
        noMore(args, 'hosting-plan list');
        return withCore(ctx.config(), async (core) => {
          const rows = await listHostingPlans(core.db);
          for (const r of rows) out(JSON.stringify(r));
          if (rows.length === 0) out('no hosting plans yet');
          return 0;
        });
      },
    },
    {
      name: 'hosting-plan show', usage: 'hosting-plan show <id>', describe: 'print one hosting plan profile as JSON',
      async run(args, ctx) {
        const planId = id(positional(args, 'a hosting plan id', 'hosting-plan show'), 'the hosting plan id');
        noMore(args, 'hosting-plan show');
        return withCore(ctx.config(), async (core) => {
          const p = await getHostingPlan(core.db, planId);
          if (!p) throw new InputError('', `hosting plan ${planId} does not exist`, 404);
          out(JSON.stringify(p, null, 2));
          return 0;
        });
      },
    },
    {
      name: 'hosting-plan set', usage: 'hosting-plan set <id> [<section>.<field>=<value>…] (or < plan.json)',
      describe: 'change fields of a hosting plan profile (e.g. web.backend_template=PHP-8_3 mail.accounts=unlimited); without any, replace it with the JSON on standard input',
      async run(args, ctx) {
        const planId = id(positional(args, 'a hosting plan id', 'hosting-plan set'), 'the hosting plan id');
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
    {
      name: 'hosting-plan delete', usage: 'hosting-plan delete <id>', describe: 'delete a hosting plan profile no live service was built from',
      async run(args, ctx) {
        const planId = id(positional(args, 'a hosting plan id', 'hosting-plan delete'), 'the hosting plan id');
        noMore(args, 'hosting-plan delete');
        return report(ctx.config(), async (core) => {
          await removeHostingPlan(core.db, planId);
          return `hosting plan ${planId} deleted`;
        });
      },
    },
  ],
};
