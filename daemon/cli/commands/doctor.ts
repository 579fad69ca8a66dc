// `hostbridge doctor`: checks the installation (database, grants, migrations, clock, secrets, fleet,
// WHMCS API, scheduler) and prints a line each, with what to do about each problem. Exit 0 when
// nothing failed (warnings allowed), 1 when something did. The checks live in daemon/doctor/.
import { ConfigError, type Config } from '../../config/config.ts';
import { runDoctor, doctorFailed, type CheckResult } from '../../doctor/index.ts';
import { VERSION } from '../../version.ts';
import { noMore } from '../args.ts';
import type { CommandGroup } from '../command.ts';
import { out } from '../io.ts';

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'warn', fail: 'FAIL', skip: '--' };

function line(r: CheckResult): void {
  out(`${LABEL[r.status].padEnd(5)} ${r.name.padEnd(14)} ${r.what}`);
  if (r.fix && (r.status === 'fail' || r.status === 'warn')) out(`${''.padEnd(21)}fix: ${r.fix}`);
}

export const doctorCommands: CommandGroup = {
  title: 'Diagnosis',
  commands: [
    {
      name: 'doctor',
      usage: 'doctor',
      describe: 'check the installation: database, grants, migrations, clock, keys, fleet, WHMCS API, scheduler',
      details: ['exit 0 when nothing failed (warnings allowed), 1 otherwise; see docs/doctor.md'],
      async run(args, ctx) {
        noMore(args, 'doctor');
        out(`hostbridge doctor ${VERSION}`);
        let config: Config;
        try {
          config = ctx.config();
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          line({ status: 'fail', name: 'configuration', what: err.message, fix: 'see docs/configuration.md for every setting' });
          out('1 problem: the configuration must load before anything else can be checked');
          return 1;
        }
        const results = await runDoctor(config, { onResult: line });
        const failed = results.filter((r) => r.status === 'fail').length;
        const warned = results.filter((r) => r.status === 'warn').length;
        out(failed ? `${failed} problem(s)${warned ? `, ${warned} warning(s)` : ''}: see the fix under each FAIL line`
          : `all checks passed${warned ? ` (${warned} warning(s))` : ''}`);
        return doctorFailed(results) ? 1 : 0;
      },
    },
  ],
};
