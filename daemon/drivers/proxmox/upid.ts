// Task ids (reference §2 Tasks): `UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:`,
// pid and starttime 8 hex digits, pstart 8 or 9, the trailing colon part of it. The node is the
// one that runs the task, so it is the node to poll.
import { InputError } from '../../common/errors.ts';

export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  /** The object the task works on; for a clone the *source* VMID. May be ''. */
  id: string;
  user: string;
}

const UPID = /^UPID:([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export function isUpid(value: unknown): value is string {
  return typeof value === 'string' && UPID.test(value);
}

/** Splits a UPID; a malformed one is an InputError naming `upid`. */
export function parseUpid(upid: string): Upid {
  const m = typeof upid === 'string' ? UPID.exec(upid) : null;
  if (!m) throw new InputError('upid', `"${String(upid).slice(0, 120)}" is not a Proxmox task id (UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:)`);
  return {
    node: m[1]!,
    pid: parseInt(m[2]!, 16),
    pstart: parseInt(m[3]!, 16),
    starttime: parseInt(m[4]!, 16),
    type: m[5]!,
    id: m[6]!,
    user: m[7]!,
  };
}
