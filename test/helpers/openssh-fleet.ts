// A Split fleet of HestiaCP emulator nodes reached through Debian's OpenSSH: each node has its own
// sshd (stock MaxSessions and MaxStartups) and its own bin directory of v-* shims that run the
// emulator's CLI on that node's files, so the daemon's real SSH driver logs in as root or as a
// NOPASSWD sudo user and runs `[sudo -n] <bin>/v-…` exactly as on a HestiaCP server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileCli, createNode, readCommandLog, writeShims, type CommandLogEntry, type NodeRoles } from '../emulator/hestia/index.ts';
import { startSshd, type Sshd, type SshdUser } from './sshd.ts';
import { NAMESERVERS } from './fleet.ts';
import { call } from './api.ts';

/** Who the daemon logs in as: root, or the sudo user (every v-command then through `sudo -n`). */
export type Login = 'root' | 'sudo';

export interface OpenSshNode {
  name: string;
  roles: NodeRoles;
  /** The emulator's files for this node. */
  dir: string;
  /** The node's Hestia bin directory (the server's hestia_bin). */
  binDir: string;
  /** The node's public IP, as the emulated Hestia knows it. */
  ip: string;
  sshd: Sshd;
}

export interface OpenSshFleet {
  login: Login;
  /** The SSH user the daemon is given on every node. */
  user: SshdUser;
  nodes: OpenSshNode[];
  node(name: string): OpenSshNode;
  commandLog(name: string): CommandLogEntry[];
  close(): Promise<void>;
}

const SPLIT: { name: string; roles: NodeRoles; ip: string }[] = [
  { name: 'web1', roles: { web: true }, ip: '192.0.2.11' },
  { name: 'mail1', roles: { mail: true }, ip: '192.0.2.21' },
  { name: 'ns1', roles: { dns: true }, ip: '192.0.2.31' },
];

export async function startOpenSshFleet(login: Login): Promise<OpenSshFleet> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `hb-openssh-${login}-`));
  // sudo and the sudo user's shell resolve the shims' paths: the tree must be traversable.
  fs.chmodSync(root, 0o755);
  const nodes: OpenSshNode[] = [];
  const close = async () => {
    for (const n of nodes) await n.sshd.stop().catch(() => {});
    fs.rmSync(root, { recursive: true, force: true });
  };
  try {
    const cliJs = compileCli(path.join(root, 'cli'));
    for (const spec of SPLIT) {
      const dir = path.join(root, spec.name, 'node');
      const binDir = path.join(root, spec.name, 'bin');
      createNode(dir, { hostname: `${spec.name}.example.net`, ip: spec.ip, roles: spec.roles });
      writeShims(dir, binDir, { cliJs });
      // OpenSSH's own limits: MaxSessions 10 per connection, MaxStartups 10:30:100.
      const sshd = await startSshd({ maxStartups: null });
      nodes.push({ ...spec, dir, binDir, sshd });
    }
  } catch (err) {
    await close();
    throw err;
  }
  const first = nodes[0]!.sshd;
  return {
    login,
    // Every sshd of the fleet has its own keys; the user name is the same everywhere.
    user: login === 'root' ? first.root : first.sudoUser,
    nodes,
    node(name) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no node ${name} in the OpenSSH fleet`);
      return n;
    },
    commandLog: (name) => readCommandLog(nodes.find((x) => x.name === name)!.dir),
    close,
  };
}

export interface RegisteredOpenSshFleet {
  groupId: number;
  /** Daemon server id by node name. */
  ids: Record<string, number>;
}

/** Adds the nodes (key login as the fleet's user, host keys pinned, hestia_bin set) and one Split group. */
export async function registerOpenSshFleet(daemonUrl: string, fleet: OpenSshFleet, groupName: string): Promise<RegisteredOpenSshFleet> {
  const ids: Record<string, number> = {};
  for (const n of fleet.nodes) {
    const user = fleet.login === 'root' ? n.sshd.root : n.sshd.sudoUser;
    const r = await call(daemonUrl, 'POST', '/v1/servers', {
      name: `${groupName}-${n.name}`, driver: 'hestiacp', hostname: n.sshd.host, ip: n.ip, port: n.sshd.port,
      username: user.username, private_key: user.privateKey, host_key_sha256: n.sshd.hostKeySha256, hestia_bin: n.binDir,
      capabilities: { web: !!n.roles.web, mail: !!n.roles.mail, dns: !!n.roles.dns },
    });
    if (r.status !== 201) throw new Error(`adding server ${n.name}: ${r.status} ${JSON.stringify(r.body)}`);
    ids[n.name] = r.body.id as number;
  }
  const of = (role: keyof NodeRoles) => fleet.nodes.filter((n) => n.roles[role]).map((n) => ids[n.name]!);
  const g = await call(daemonUrl, 'POST', '/v1/server-groups', {
    name: groupName, nameservers: NAMESERVERS, servers: [...of('web'), ...of('mail')], dns_servers: of('dns'),
    vanity_domains: [], reserved_names: [],
  });
  if (g.status !== 201) throw new Error(`adding the server group: ${g.status} ${JSON.stringify(g.body)}`);
  return { groupId: g.body.id as number, ids };
}
