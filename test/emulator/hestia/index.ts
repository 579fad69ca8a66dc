// The HestiaCP emulator's public surface for tests and the demo.
export { createNode } from './create.ts';
export type { CreateNodeOptions, NodeRoles } from './node.ts';
export { paths } from './node.ts';
export { runHestia, COMMANDS, type RunResult, type RunOptions } from './commands/index.ts';
export { execLine, readCommandLog, HESTIA_BIN, type CommandLogEntry, type ExecIdentity } from './exec.ts';
export { startHestiaNode, startFleet, fingerprintOf, ed25519KeyPair, type Fault, type HestiaNodeHandle, type NodeUser, type StartNodeOptions, type FleetNode } from './ssh-server.ts';
export { writeShims, compileCli } from './shims.ts';
export { readNode, hashFiles, snapshot, userFiles, type NodeState } from './inspect.ts';
export { parseShellWords, ShellSyntaxRefused } from './shell-words.ts';
export { E as EXIT } from './errors.ts';
export { freshNode } from './testing.ts';
export { serveNodeTls, installedCertFor, type NodeTlsHandle } from './tls.ts';
export { readAcme, setAcme, injectAcmeFailure, type AcmeSettings, type AcmeFailure, type AcmeStep } from './acme.ts';
