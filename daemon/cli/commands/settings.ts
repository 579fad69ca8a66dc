// Settings from the command line: `set` (a secret read from standard input, stored encrypted,
// never printed) and the admin pages' password.
import { isHiddenSetting, isSecretSetting, SETTING_DEFINITIONS, writeSetting } from '../../settings/settings.ts';
import { setAdminPassword } from '../../pages/auth.ts';
import { noMore, positional } from '../args.ts';
import { UsageError, type CommandGroup } from '../command.ts';
import { withCore } from '../core.ts';
import { out, readStdin } from '../io.ts';

export const settingsCommands: CommandGroup = {
  title: 'Settings',
  commands: [
    {
      name: 'set',
      usage: 'set <key> <value|->',
      describe: 'change a setting; "-" reads the value from standard input (use it for secrets)',
      details: [`keys: ${Object.entries(SETTING_DEFINITIONS).filter(([, d]) => !d.hidden).map(([k]) => k).join(', ')}`],
      async run(args, ctx) {
        const key = positional(args, 'a setting key', 'set');
        let value = args.shift();
        if (value === undefined) throw new UsageError(`set needs a value for ${key} ("-" reads it from standard input, for secrets)`);
        noMore(args, 'set');
        // A secret on the command line would show in ps and shell history: read it from stdin instead.
        if (value === '-') value = (await readStdin()).replace(/\r?\n$/, '');
        const written = value;
        return withCore(ctx.config(), async (core) => {
          await writeSetting(core.db, key, written, core.config.masterKey);
          out(`${key} = ${isSecretSetting(key) ? '******** (stored encrypted)' : isHiddenSetting(key) ? '******** (hidden)' : written}`);
          return 0;
        });
      },
    },
    {
      name: 'admin-password',
      usage: 'admin-password -',
      describe: 'set the admin password of the pages (/ui), read from standard input',
      async run(args, ctx) {
        // Never on the command line (ps, shell history): "-" reads it from standard input.
        if (args.shift() !== '-') throw new UsageError('admin-password reads the password from standard input: run "hostbridge admin-password -"');
        noMore(args, 'admin-password');
        const password = (await readStdin()).replace(/\r?\n$/, '');
        return withCore(ctx.config(), async (core) => {
          await setAdminPassword(core.db, password);
          out('admin password set; admin sessions opened with the old password were logged out');
          return 0;
        });
      },
    },
  ],
};
