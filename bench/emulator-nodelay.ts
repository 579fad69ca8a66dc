// TCP_NODELAY on the emulated fleet's own sockets, for bench:deploy. The HestiaCP emulator's SSH
// server (ssh2) writes each packet of a command's answer (data, exit status, EOF, close) as its own
// TCP write, and the fleet's TCP front relays them the same way; with Nagle's algorithm on, each
// write after the first waits for the daemon's delayed ACK (up to 40 ms). Measured at 20 ms of
// injected latency: 68.5 ms per command as the emulator stands, 26.1 ms with this. It is the
// emulator's artefact, not the daemon's time, so the benchmark removes it. Only sockets on the
// ports given (the emulator's SSH ports and the fronts') are touched: the daemon's own sockets
// keep whatever it set. (It belongs in the emulator and the fleet helper; this stands in for it.)
import net from 'node:net';

const ports = new Set<number>();
let installed = false;

/** From now on, sockets accepted on or connecting to these local ports get TCP_NODELAY. */
export function noDelayOnPorts(list: number[]): void {
  for (const p of list) ports.add(p);
  if (installed) return;
  installed = true;
  const emit = net.Server.prototype.emit;
  net.Server.prototype.emit = function (this: net.Server, event: string | symbol, ...args: unknown[]) {
    if (event === 'connection') {
      const a = this.address();
      if (a && typeof a === 'object' && ports.has(a.port)) (args[0] as net.Socket).setNoDelay(true);
    }
    return (emit as (...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    // net.connect() passes its arguments on normalised, as one array [options, callback].
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const port = typeof first === 'number' ? first : typeof first === 'object' && first !== null ? Number((first as { port?: unknown }).port) : NaN;
    if (ports.has(port)) this.setNoDelay(true);
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect;
}
