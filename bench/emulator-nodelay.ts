// TCP_NODELAY on the emulated fleet's own sockets, for bench:deploy. The HestiaCP emulator's SSH
// server (ssh2) writes each packet of a command's answer (data, exit status, EOF, close) as its own
// TCP write, and the fleet's TCP front relays them the same way; with Nagle's algorithm on, each
// write after the first waits for the daemon's delayed ACK (up to 40 ms). Measured at 20 ms of
// injected latency: 68.5 ms per command as the emulator stands, 26.1 ms with this. It is the
// emulator's artefact, not the daemon's time, so the benchmark removes it. Only the fleet's side
// of each link is touched: the daemon's own sockets keep whatever it set. (It belongs in the emulator and the fleet helper; this stands in for it.)
import net from 'node:net';

const accepting = new Set<number>();
const connecting = new Set<number>();
let installed = false;

/**
 * From now on, sockets accepted on the `accept` ports (the emulator's and the fronts' listeners)
 * and sockets connecting to the `connect` ports (the fronts' own links to the emulator) get
 * TCP_NODELAY. The daemon's connections to the fronts are not touched: their setting is the daemon's.
 */
export function noDelayOnPorts(ports: { accept: number[]; connect: number[] }): void {
  for (const p of ports.accept) accepting.add(p);
  for (const p of ports.connect) connecting.add(p);
  if (installed) return;
  installed = true;
  const emit = net.Server.prototype.emit;
  net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') {
      const a = this.address();
      if (a && typeof a === 'object' && accepting.has(a.port)) (args[0] as net.Socket).setNoDelay(true);
    }
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its arguments on normalised, as one array [options, callback].
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const port = typeof first === 'number' ? first : typeof first === 'object' && first !== null ? Number((first as { port?: unknown }).port) : NaN;
    if (connecting.has(port)) this.setNoDelay(true);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
}
