// The commands every kind of product profile has alike (hosting plans, KVM profiles): list them a
// JSON line each, show one, and remove one no live service was built from. What differs (how a
// profile is added and changed) stays with each kind.
import { InputError } from '../../common/errors.ts';
import type { Knex } from 'knex';
import { id, noMore, positional } from '../args.ts';
import type { Command } from '../command.ts';
import { report, withCore } from '../core.ts';
import { out } from '../io.ts';

export interface ProfileKind {
  /** The command family: "hosting-plan". */
  command: string;
  /** What help and messages call one: "hosting plan", "KVM profile". */
  noun: string;
  /** The plural for help and the empty list: "hosting plans". */
  plural: string;
  /** The removing sub-command's name: "delete" or "remove". */
  removeVerb: 'delete' | 'remove';
  list(db: Knex): Promise<unknown[]>;
  get(db: Knex, id: number): Promise<unknown | null>;
  remove(db: Knex, id: number): Promise<void>;
}

/** `<command> <id>`: the id, checked before anything is opened. */
export function profileId(args: string[], kind: ProfileKind, sub: string): number {
  return id(positional(args, `a ${kind.noun} id`, `${kind.command} ${sub}`), `the ${kind.noun} id`);
}

export function listCommand(kind: ProfileKind): Command {
  const name = `${kind.command} list`;
  return {
    name, usage: name, describe: `list ${kind.plural}, one JSON line each`,
    async run(args, ctx) {
      noMore(args, name);
      return withCore(ctx.config(), async (core) => {
        const rows = await kind.list(core.db);
        for (const r of rows) out(JSON.stringify(r));
        if (rows.length === 0) out(`no ${kind.plural} yet`);
        return 0;
      });
    },
  };
}

export function showCommand(kind: ProfileKind): Command {
  const name = `${kind.command} show`;
  return {
    name, usage: `${name} <id>`, describe: `print one ${kind.noun} as JSON`,
    async run(args, ctx) {
      const pid = profileId(args, kind, 'show');
      noMore(args, name);
      return withCore(ctx.config(), async (core) => {
        const p = await kind.get(core.db, pid);
        if (!p) throw new InputError('', `${kind.noun} ${pid} does not exist`, 404);
        out(JSON.stringify(p, null, 2));
        return 0;
      });
    },
  };
}

export function removeCommand(kind: ProfileKind): Command {
  const name = `${kind.command} ${kind.removeVerb}`;
  const done = kind.removeVerb === 'delete' ? 'deleted' : 'removed';
  return {
    name, usage: `${name} <id>`, describe: `${kind.removeVerb} a ${kind.noun} no live service was built from`,
    async run(args, ctx) {
      const pid = profileId(args, kind, kind.removeVerb);
      noMore(args, name);
      return report(ctx.config(), async (core) => {
        await kind.remove(core.db, pid);
        return `${kind.noun} ${pid} ${done}`;
      });
    },
  };
}
