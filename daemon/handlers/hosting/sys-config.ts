// hestia.config: pushes a server group's managed hestia.conf keys to one HestiaCP node. It reads
// the node's configuration first (v-list-sys-config json), changes only the keys that differ with
// `v-change-sys-config-value KEY VALUE`, and reads it back to check. The keys are chosen again here
// from the server's roles as the inventory has them now (keysForServer), not taken from the task:
// a mail key never reaches a web-only node. A key HestiaCP refuses is recorded with HestiaCP's
// message and fails the task for good (the same value would be refused again); the other keys
// are still applied. Unreachable nodes are retried as any task is.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import type { HostingDeps } from './context.ts';
import { registerStep } from '../step-args.ts';
import { TerminalError } from '../../common/errors.ts';
import { Arg, ArgumentError, HestiaTerminalError, parseHestiaJson, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { groupConfigServers, keysToApply, recordApply, type KeyResult, type RunOutcome } from '../../fleet/hestia-config.ts';
import { keyChanges } from '../../pipelines/hestia-config-plan.ts';

/** v-list-sys-config json: `{ "config": { KEY: "value", … } }`. */
async function readSysConfig(driver: HestiaDriver): Promise<Record<string, string>> {
  const out = (await driver.runner.run('v-list-sys-config', [Arg.of('format', 'FORMAT', 'json')], { quiet: true })).stdout;
  const list = parseHestiaJson(out, 'v-list-sys-config');
  const config = list.config;
  if (!config) throw new TerminalError('v-list-sys-config printed no "config" object');
  return config;
}

async function changeValue(driver: HestiaDriver, key: string, value: string): Promise<void> {
  // Values were checked when the group saved them; as Args they are checked again and quoted.
  await driver.runner.run('v-change-sys-config-value', [Arg.of('name', 'KEY', key), value === '' ? Arg.empty('VALUE') : Arg.of('name', 'VALUE', value)]);
}

export function registerSysConfigHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'hestia.config', 'Sets a server group\'s managed hestia.conf keys of the server\'s roles on one HestiaCP node (v-change-sys-config-value), only those that differ, and checks them after.', async (ctx: TaskContext, a) => {
    const record = (outcome: RunOutcome, message: string | null, keys: KeyResult[] = []) => recordApply(deps.db, a.group, a.server, a.role, outcome, message, keys);
    const server = (await groupConfigServers(deps.db, a.group)).find((s) => s.id === a.server);
    if (!server) {
      await record('skipped', 'no longer a server of this group');
      ctx.log(`server ${a.server} is no longer in group ${a.group}: nothing to apply`);
      return { skipped: true };
    }
    if (server.driver !== 'hestiacp') {
      await record('skipped', 'PowerDNS server: it has no hestia.conf');
      ctx.log(`${server.name} is a PowerDNS server: it has no hestia.conf, skipped`);
      return { skipped: true };
    }
    const keys = await keysToApply(deps.db, a.group, server, a.role);
    if (keys.length === 0) {
      await record('unchanged', 'the group manages no key for this server\'s roles');
      ctx.log(`${server.name}: the group manages no key for its roles`);
      return { keys: 0 };
    }
    const results: KeyResult[] = [];
    try {
      const { driver } = await deps.fleet.hestia(server.id, ctx);
      const before = await readSysConfig(driver);
      const { unchanged, change } = keyChanges(keys, before);
      for (const k of unchanged) results.push({ key: k.key, value: k.value, outcome: 'unchanged', message: null });
      const tried: typeof change = [];
      for (const k of change) {
        try {
          await changeValue(driver, k.key, k.value);
          tried.push(k);
        } catch (err) {
          // A refusal (bad value, demo mode…) is HestiaCP's answer for this key, and a value the
          // argument check stops is never sent; anything else (the connection) is retried.
          if (err instanceof ArgumentError) {
            results.push({ key: k.key, value: k.value, outcome: 'refused', message: `not sent: ${err.message}` });
            continue;
          }
          if (!(err instanceof HestiaTerminalError)) throw err;
          results.push({ key: k.key, value: k.value, outcome: 'refused', message: err.errorLine ?? err.message });
          ctx.log(`${k.key}: refused by HestiaCP (${err.codeName}): ${err.errorLine ?? err.message}`);
        }
      }
      if (tried.length) {
        const after = await readSysConfig(driver);
        for (const k of tried) {
          const now = after[k.key] ?? '';
          results.push(now === k.value
            ? { key: k.key, value: k.value, outcome: 'applied', message: before[k.key] === undefined ? null : `was "${before[k.key]}"` }
            : { key: k.key, value: k.value, outcome: 'refused', message: `HestiaCP reports "${now}" after the change` });
        }
      }
    } catch (err) {
      await record('failed', (err as Error).message, results);
      throw err;
    }
    results.sort((x, y) => (x.key < y.key ? -1 : 1));
    const count = (o: KeyResult['outcome']) => results.filter((r) => r.outcome === o).length;
    const summary = `${count('applied')} applied, ${count('unchanged')} unchanged, ${count('refused')} refused`;
    ctx.log(`${server.name}: ${summary}`);
    const refused = results.filter((r) => r.outcome === 'refused');
    const outcome: RunOutcome = refused.length ? 'refused' : count('applied') ? 'applied' : 'unchanged';
    await record(outcome, summary, results);
    if (refused.length) {
      throw new TerminalError(`HestiaCP on ${server.name} refused ${refused.map((r) => `${r.key} (${r.message})`).join('; ')}`);
    }
    return { applied: count('applied'), unchanged: count('unchanged') };
  }, { maxAttempts: 5 });
}
