// Where a bench keeps its emulated nodes' state. A HestiaCP emulator node is a directory that
// every command reads and rewrites (conf files replaced by rename, as HestiaCP's scripts do), so
// on a disk the nodes' process spends its CPU in the filesystem's journal, beside the daemon being
// measured. In memory (/dev/shm, when the machine has it) that cost goes; BENCH_SCRATCH_DIR
// chooses another place.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function scratchDir(prefix: string): string {
  const chosen = process.env.BENCH_SCRATCH_DIR;
  let base = chosen || os.tmpdir();
  if (!chosen) {
    try {
      fs.accessSync('/dev/shm', fs.constants.W_OK);
      base = '/dev/shm';
    } catch {
      // No writable shared memory: the system's temporary directory.
    }
  }
  return fs.mkdtempSync(path.join(base, prefix));
}
