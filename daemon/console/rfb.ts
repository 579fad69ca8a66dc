// The two RFB handshakes the console proxy terminates (RFC 6143): toward Proxmox it is the client
// (version, VNC authentication with the vncproxy password), toward the browser it is a server that
// offers only security type None, or a failure with a reason the page shows. After both, the
// bytes go through untouched: the browser's ClientInit reaches QEMU and QEMU's ServerInit the browser.
import { createCipheriv } from 'node:crypto';
import type { WebSocket } from 'ws';

export const RFB_VERSION = 'RFB 003.008\n';

/** VNC authentication: the challenge DES-encrypted with the password (8 bytes, zero-padded, each byte bit-reversed as RFB does). */
export function vncAuthResponse(password: string, challenge: Buffer): Buffer {
  if (challenge.length !== 16) throw new Error('a VNC challenge is 16 bytes');
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let v = key[i]!;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) {
      r = (r << 1) | (v & 1);
      v >>= 1;
    }
    key[i] = r;
  }
  // Node's OpenSSL 3 has no single DES; three-key 3DES with one key three times is the same cipher.
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(challenge), cipher.final()]);
}

export class RfbError extends Error {}

/**
 * A WebSocket's binary messages read in exact amounts during a handshake; detach() hands back what
 * arrived beyond the handshake and stops listening.
 */
export class SocketReader {
  private buf: Buffer = Buffer.alloc(0);
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;
  private readonly onMessage = (data: Buffer | ArrayBuffer | Buffer[]) => {
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.serve();
  };
  private readonly onClose = () => this.end(new RfbError(`the ${this.who} closed the connection`));

  constructor(private readonly ws: WebSocket, private readonly who: string) {
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
  }

  read(n: number, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.want = null;
        reject(new RfbError(`the ${this.who} sent nothing for ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      this.want = {
        n,
        resolve: (b) => { clearTimeout(timer); resolve(b); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      this.serve();
    });
  }

  end(err: Error): void {
    this.ended = err;
    this.serve();
  }

  /** Stops reading; returns the bytes not read yet. */
  detach(): Buffer {
    this.ws.off('message', this.onMessage);
    this.ws.off('close', this.onClose);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  private serve(): void {
    const w = this.want;
    if (!w) return;
    if (this.buf.length >= w.n) {
      this.want = null;
      const out = Buffer.from(this.buf.subarray(0, w.n));
      this.buf = this.buf.subarray(w.n);
      w.resolve(out);
    } else if (this.ended) {
      this.want = null;
      w.reject(this.ended);
    }
  }
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

async function reasonOf(r: SocketReader, timeoutMs: number): Promise<string> {
  const len = (await r.read(4, timeoutMs)).readUInt32BE(0);
  if (len > 4096) return '(a reason too long to read)';
  return (await r.read(len, timeoutMs)).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The client's half toward Proxmox's VNC server, up to a successful SecurityResult: version,
 * security type 2 (VNC authentication) with the password. Throws an RfbError saying what failed;
 * the password appears in no message.
 */
export async function authenticateUpstream(ws: WebSocket, r: SocketReader, password: string, timeoutMs: number): Promise<void> {
  const send = (b: Buffer) => ws.send(b, { binary: true });
  const version = /^RFB (\d{3})\.(\d{3})\n$/.exec((await r.read(12, timeoutMs)).toString('latin1'));
  if (!version || Number(version[1]) !== 3) throw new RfbError('the VNC server did not answer with an RFB 3.x version');
  const minor = Number(version[2]);
  if (minor < 3) throw new RfbError(`the VNC server speaks RFB 3.${minor}, older than 3.3`);
  const use = minor >= 8 ? 8 : minor >= 7 ? 7 : 3;
  send(Buffer.from(`RFB 003.00${use}\n`, 'latin1'));
  let type: number;
  if (use === 3) {
    type = (await r.read(4, timeoutMs)).readUInt32BE(0);
    if (type === 0) throw new RfbError(`the VNC server refused the connection: ${await reasonOf(r, timeoutMs)}`);
  } else {
    const count = (await r.read(1, timeoutMs))[0]!;
    if (count === 0) throw new RfbError(`the VNC server refused the connection: ${await reasonOf(r, timeoutMs)}`);
    const types = [...(await r.read(count, timeoutMs))];
    if (!types.includes(2)) throw new RfbError(`the VNC server offers no VNC authentication (security types ${types.join(', ')})`);
    type = 2;
    send(Buffer.from([2]));
  }
  if (type !== 2) throw new RfbError(`the VNC server asks for security type ${type}, not VNC authentication`);
  const challenge = await r.read(16, timeoutMs);
  send(vncAuthResponse(password, challenge));
  const result = (await r.read(4, timeoutMs)).readUInt32BE(0);
  if (result !== 0) {
    const why = use === 8 ? await reasonOf(r, timeoutMs) : 'no reason given';
    throw new RfbError(`the VNC server refused the password: ${why}`);
  }
}

/** The server's half toward the browser, first part: the version, and the browser's answer (RFB 3.8 only, as noVNC speaks it). */
export async function greetBrowser(ws: WebSocket, r: SocketReader, timeoutMs: number): Promise<void> {
  ws.send(Buffer.from(RFB_VERSION, 'latin1'), { binary: true });
  const v = (await r.read(12, timeoutMs)).toString('latin1');
  if (v !== RFB_VERSION) throw new RfbError('the browser did not answer with RFB 3.8');
}

/** Second part once Proxmox's side is ready: security type None, the browser's choice, SecurityResult OK. */
export async function admitBrowser(ws: WebSocket, r: SocketReader, timeoutMs: number): Promise<void> {
  ws.send(Buffer.from([1, 1]), { binary: true });
  const chosen = (await r.read(1, timeoutMs))[0];
  if (chosen !== 1) throw new RfbError(`the browser chose security type ${chosen}, not None`);
  ws.send(u32(0), { binary: true });
}

/** Or instead: no security type and the reason (RFB 3.8's way to refuse; noVNC shows it as a security failure). */
export function refuseBrowser(ws: WebSocket, reason: string): void {
  const text = Buffer.from(reason, 'utf8');
  ws.send(Buffer.concat([Buffer.from([0]), u32(text.length), text]), { binary: true });
}
