// createNode: a fresh HestiaCP install — files, then the admin user the installer adds
// (`v-add-user admin <pw> <email> system "System Administrator"`, role admin).
import { type CreateNodeOptions, initNodeFiles } from './node.ts';
import { runHestia } from './commands/index.ts';
import { readKeyFile, writeKeyFile } from './conf.ts';
import { paths } from './node.ts';

export function createNode(dir: string, opts: CreateNodeOptions): void {
  initNodeFiles(dir, opts);
  const root = opts.rootUser ?? 'admin';
  const r = runHestia(dir, 'v-add-user', [root, 'emulator-admin-password', `${root}@${opts.hostname}`, 'system', 'System Administrator']);
  if (r.code !== 0) throw new Error(`createNode: adding ${root} failed: ${r.stdout}${r.stderr}`);
  const conf = readKeyFile(paths.userConf(dir, root));
  conf.set('ROLE', 'admin');
  writeKeyFile(paths.userConf(dir, root), conf);
}
