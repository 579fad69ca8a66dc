// The command table: every command of `hostbridge`, in the order help lists them, and how a
// command line finds its row. A new command is a row in one of these groups.
import { positional } from '../args.ts';
import { UsageError, type Command, type CommandGroup } from '../command.ts';
import { daemonCommands } from './daemon.ts';
import { schedulerCommands } from './scheduler.ts';
import { queueCommands } from './queue.ts';
import { fleetCommands } from './fleet.ts';
import { apiCommands } from './openapi.ts';
import { settingsCommands } from './settings.ts';
import { ticketCommands } from './tickets.ts';
import { doctorCommands } from './doctor.ts';
import { ipPoolCommands } from './ip-pools.ts';
import { proxmoxCommands } from './proxmox.ts';
import { kvmProfileCommands } from './kvm-profiles.ts';
import { hostingPlanCommands } from './hosting-plans.ts';

export const COMMAND_GROUPS: CommandGroup[] = [
  daemonCommands, schedulerCommands, queueCommands, fleetCommands, proxmoxCommands, ipPoolCommands, kvmProfileCommands, hostingPlanCommands,
  apiCommands, settingsCommands, ticketCommands, doctorCommands,
];

export const COMMANDS: Command[] = COMMAND_GROUPS.flatMap((g) => g.commands);

/**
 * The command named at the front of args, taken off args with its sub-command ("task retry").
 * An unknown one is a UsageError naming it and listing the commands it could have been.
 */
export function findCommand(args: string[]): Command {
  const first = args.shift()!;
  const family = COMMANDS.filter((c) => c.name.startsWith(first + ' '));
  let name = first;
  if (family.length) {
    try {
      name = `${first} ${positional(args, 'a sub-command', first)}`;
    } catch (err) {
      throw new UsageError((err as Error).message, family);
    }
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"`, family.length ? family : COMMANDS);
  return command;
}
