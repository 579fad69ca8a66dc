// Run the Proxmox VE emulator on its own (for the demo or by hand):
//   node --import tsx test/emulator/proxmox/cli.ts --port 8006 [--host 127.0.0.1] [--latency-ms N] [--show-secret]
// It prints the URL, the certificate fingerprint and the token id; the token secret only with --show-secret.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProxmoxEmulator } from './index.ts';

export async function main(argv: string[]): Promise<number> {
  let port = 8006; let host = '127.0.0.1'; let latencyMs = 0; let showSecret = false;
  const rest = [...argv];
  while (rest.length) {
    const flag = rest.shift()!;
    const num = (name: string) => { const v = Number(rest.shift()); if (!Number.isInteger(v) || v < 0) throw new Error(`${name} needs a non-negative integer`); return v; };
    if (flag === '--port') port = num('--port');
    else if (flag === '--host') host = rest.shift() ?? host;
    else if (flag === '--latency-ms') latencyMs = num('--latency-ms');
    else if (flag === '--show-secret') showSecret = true;
    else { process.stderr.write(`cli: unknown option ${flag}\nusage: cli.ts [--port 8006] [--host 127.0.0.1] [--latency-ms N] [--show-secret]\n`); return 2; }
  }
  const emu = await startProxmoxEmulator({ port, host, latencyMs });
  process.stdout.write(`Proxmox VE emulator at ${emu.url}\n`);
  process.stdout.write(`fingerprint (SHA-256): ${emu.fingerprintSha256}\n`);
  process.stdout.write(`token id: ${emu.token.id}\n`);
  if (showSecret) process.stdout.write(`token secret: ${emu.token.secret}\n`);
  process.stdout.write(`templates: ${[...emu.vms().values()].filter((v) => v.template).map((v) => `${v.vmid} ${v.config.name} on ${v.node}`).join(', ') || '-'}\n`);
  await new Promise<void>((done) => {
    const stop = () => { void emu.close().then(done); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: Error) => { process.stderr.write(`cli: ${e.message}\n`); process.exitCode = 2; });
}
