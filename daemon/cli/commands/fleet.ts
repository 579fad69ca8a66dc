// The fleet from the command line: servers and server groups, added from a JSON body on standard
// input (so credentials stay out of ps and shell history) and listed without their credentials.
import type { Knex } from 'knex';
import { checkBody } from '../../common/bodies.ts';
import { addServer, listGroups, listServers, saveGroup, type GroupInput, type ServerInput } from '../../fleet/inventory.ts';
import { noMore } from '../args.ts';
import type { Command, CommandGroup } from '../command.ts';
import { withCore, report } from '../core.ts';
import { out, readStdinJson } from '../io.ts';

/** `<what> add < body.json`: the body checked against the API's schema, then saved. */
function addCommand(what: 'server' | 'group', describe: string, save: (db: Knex, masterKey: Buffer, body: unknown) => Promise<number>): Command {
  const name = `${what} add`;
  return {
    name, usage: `${name} < ${what}.json`, describe,
    async run(args, ctx) {
      noMore(args, name);
      const body = await readStdinJson(name);
      return report(ctx.config(), async (core) => {
        const newId = await save(core.db, core.config.masterKey, body);
        return `${what === 'server' ? 'server' : 'server group'} ${newId} added`;
      });
    },
  };
}

/** `<what> list`: one JSON line per row. */
function listCommand(what: 'server' | 'group', describe: string, none: string, list: (db: Knex) => Promise<unknown[]>): Command {
  const name = `${what} list`;
  return {
    name, usage: name, describe,
    async run(args, ctx) {
      noMore(args, name);
      return withCore(ctx.config(), async (core) => {
        const rows = await list(core.db);
        for (const r of rows) out(JSON.stringify(r));
        if (rows.length === 0) out(none);
        return 0;
      });
    },
  };
}

export const fleetCommands: CommandGroup = {
  title: 'Fleet (JSON on standard input, so credentials stay out of ps and shell history)',
  commands: [
    addCommand('server', 'add a server: see docs/api.md (POST /v1/servers) for the fields',
      (db, key, body) => addServer(db, key, checkBody<ServerInput>('Server', body))),
    listCommand('server', 'list servers (credentials are never shown)', 'no servers yet', listServers),
    addCommand('group', 'add a server group with its nodes, DNS servers and vanity domains',
      (db, _key, body) => saveGroup(db, checkBody<GroupInput>('ServerGroup', body))),
    listCommand('group', 'list server groups', 'no server groups yet', listGroups),
  ],
};
