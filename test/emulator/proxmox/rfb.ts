// The VNC server a VM's console reaches through vncwebsocket: QEMU's built-in server as `qm vncproxy`
// hands it over (RFB 3.8, also 3.7 and 3.3), with VNC authentication (security type 2: a 16-byte
// challenge that the client DES-encrypts with the password, whose key bytes RFB bit-reverses).
// After ServerInit it draws a small, recognisable screen (a dark blue background, a title strip, an
// amber bar and a key indicator that changes colour with each key press) in Raw rectangles, in the
// pixel format the client asked for, and reads every other client message through and ignores it.
import { createCipheriv, randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';

export interface RfbServerOptions {
  /** The VNC password (8 printable characters, as vncproxy returns it). */
  password: string;
  /** The desktop name ServerInit carries: the VM's name. */
  name: string;
  width?: number;
  height?: number;
  /** Called once with the outcome of VNC authentication. */
  onAuth(ok: boolean): void;
}

export const RFB_WIDTH = 640;
export const RFB_HEIGHT = 400;

/** The colours the screen is drawn with (tests look for them on the client's canvas). */
export const RFB_COLOURS = {
  background: [0x1d, 0x3b, 0x5c],
  title: [0x2e, 0x7d, 0x32],
  bar: [0xf5, 0x9e, 0x0b],
} as const;

/** Where each part is: the title strip on top, the bar across the middle. */
export const RFB_LAYOUT = { titleHeight: 24, barTop: 160, barBottom: 240, indicator: { x: 16, y: 40, size: 32 } } as const;

interface PixelFormat {
  bpp: number; depth: number; bigEndian: boolean; trueColour: boolean;
  rMax: number; gMax: number; bMax: number; rShift: number; gShift: number; bShift: number;
}

const SERVER_FORMAT: PixelFormat = { bpp: 32, depth: 24, bigEndian: false, trueColour: true, rMax: 255, gMax: 255, bMax: 255, rShift: 16, gShift: 8, bShift: 0 };

/** The RFB key: the password's first 8 bytes (zero-padded), each byte's bits in reverse order. */
function vncKey(password: string): Buffer {
  const key = Buffer.alloc(8);
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
  for (let i = 0; i < 8; i++) {
    let b = key[i]!;
    let r = 0;
    for (let bit = 0; bit < 8; bit++) { r = (r << 1) | (b & 1); b >>= 1; }
    key[i] = r;
  }
  return key;
}

/** DES-ECB of the challenge (two blocks); 3DES with the key three times is single DES. */
export function vncAuthAnswer(password: string, challenge: Buffer): Buffer {
  const k = vncKey(password);
  const c = createCipheriv('des-ede3-ecb', Buffer.concat([k, k, k]), null);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(challenge), c.final()]);
}

/** Bytes arriving as WebSocket messages, read back in exact amounts. */
class Incoming {
  private buf: Buffer = Buffer.alloc(0);
  private want: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.serve();
  }

  end(err: Error): void {
    this.ended = err;
    this.serve();
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.want = { n, resolve, reject };
      this.serve();
    });
  }

  private serve(): void {
    const w = this.want;
    if (!w) return;
    if (this.buf.length >= w.n) {
      this.want = null;
      const out = this.buf.subarray(0, w.n);
      this.buf = this.buf.subarray(w.n);
      w.resolve(Buffer.from(out));
    } else if (this.ended) {
      this.want = null;
      w.reject(this.ended);
    }
  }
}

function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; }

function pixelFormatBytes(pf: PixelFormat): Buffer {
  const b = Buffer.alloc(16);
  b[0] = pf.bpp; b[1] = pf.depth; b[2] = pf.bigEndian ? 1 : 0; b[3] = pf.trueColour ? 1 : 0;
  b.writeUInt16BE(pf.rMax, 4); b.writeUInt16BE(pf.gMax, 6); b.writeUInt16BE(pf.bMax, 8);
  b[10] = pf.rShift; b[11] = pf.gShift; b[12] = pf.bShift;
  return b;
}

function parsePixelFormat(b: Buffer): PixelFormat {
  return {
    bpp: b[0]!, depth: b[1]!, bigEndian: b[2] !== 0, trueColour: b[3] !== 0,
    rMax: b.readUInt16BE(4), gMax: b.readUInt16BE(6), bMax: b.readUInt16BE(8), rShift: b[10]!, gShift: b[11]!, bShift: b[12]!,
  };
}

/** Runs the server on an accepted WebSocket until either side closes. */
export function serveRfb(ws: WebSocket, opts: RfbServerOptions): void {
  const width = opts.width ?? RFB_WIDTH;
  const height = opts.height ?? RFB_HEIGHT;
  const input = new Incoming();
  let keys = 0;
  let pendingIncremental: { x: number; y: number; w: number; h: number } | null = null;
  let pf = SERVER_FORMAT;

  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    input.push(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
  });
  ws.on('close', () => input.end(new Error('closed')));
  ws.on('error', () => input.end(new Error('closed')));
  const send = (b: Buffer) => { if (ws.readyState === ws.OPEN) ws.send(b); };

  const colourAt = (x: number, y: number): readonly number[] => {
    const ind = RFB_LAYOUT.indicator;
    if (x >= ind.x && x < ind.x + ind.size && y >= ind.y && y < ind.y + ind.size) {
      return [(keys * 53) % 256, (keys * 97 + 80) % 256, (keys * 29 + 160) % 256];
    }
    if (y < RFB_LAYOUT.titleHeight) return RFB_COLOURS.title;
    if (y >= RFB_LAYOUT.barTop && y < RFB_LAYOUT.barBottom) return RFB_COLOURS.bar;
    return RFB_COLOURS.background;
  };

  const rawRect = (x: number, y: number, w: number, h: number): Buffer => {
    const bytes = pf.bpp / 8;
    const out = Buffer.alloc(12 + w * h * bytes);
    out.writeUInt16BE(x, 0); out.writeUInt16BE(y, 2); out.writeUInt16BE(w, 4); out.writeUInt16BE(h, 6);
    out.writeInt32BE(0, 8); // Raw
    let o = 12;
    for (let yy = y; yy < y + h; yy++) {
      for (let xx = x; xx < x + w; xx++) {
        const [r, g, b] = colourAt(xx, yy) as [number, number, number];
        const v = ((Math.round((r * pf.rMax) / 255) << pf.rShift) | (Math.round((g * pf.gMax) / 255) << pf.gShift) | (Math.round((b * pf.bMax) / 255) << pf.bShift)) >>> 0;
        if (bytes === 4) { if (pf.bigEndian) out.writeUInt32BE(v, o); else out.writeUInt32LE(v, o); }
        else if (bytes === 2) { if (pf.bigEndian) out.writeUInt16BE(v & 0xffff, o); else out.writeUInt16LE(v & 0xffff, o); }
        else out[o] = v & 0xff;
        o += bytes;
      }
    }
    return out;
  };

  const update = (x: number, y: number, w: number, h: number) => {
    const cx = Math.min(x, width); const cy = Math.min(y, height);
    const cw = Math.max(0, Math.min(w, width - cx)); const ch = Math.max(0, Math.min(h, height - cy));
    const head = Buffer.from([0, 0, 0, 1]); // FramebufferUpdate, padding, one rectangle
    send(Buffer.concat([head, rawRect(cx, cy, cw, ch)]));
  };

  void (async () => {
    send(Buffer.from('RFB 003.008\n', 'latin1'));
    const version = /^RFB 003\.00(\d)\n$/.exec((await input.read(12)).toString('latin1'));
    const minor = version ? Number(version[1]) : 0;
    if (minor !== 3 && minor !== 7 && minor !== 8) { ws.close(); return; }
    if (minor === 3) {
      send(u32(2));
    } else {
      send(Buffer.from([1, 2]));
      if ((await input.read(1))[0] !== 2) {
        if (minor === 8) { const why = Buffer.from('security type not offered', 'latin1'); send(Buffer.concat([u32(1), u32(why.length), why])); }
        ws.close();
        return;
      }
    }
    const challenge = randomBytes(16);
    send(challenge);
    const answer = await input.read(16);
    const ok = timingSafeEqual(answer, vncAuthAnswer(opts.password, challenge));
    opts.onAuth(ok);
    if (!ok) {
      const why = Buffer.from('Authentication failed', 'latin1');
      send(minor === 8 ? Buffer.concat([u32(1), u32(why.length), why]) : u32(1));
      ws.close();
      return;
    }
    send(u32(0));
    await input.read(1); // ClientInit: the shared flag
    const name = Buffer.from(opts.name, 'utf8');
    const init = Buffer.alloc(4);
    init.writeUInt16BE(width, 0); init.writeUInt16BE(height, 2);
    send(Buffer.concat([init, pixelFormatBytes(SERVER_FORMAT), u32(name.length), name]));

    for (;;) {
      const type = (await input.read(1))[0]!;
      if (type === 0) { // SetPixelFormat
        const next = parsePixelFormat((await input.read(19)).subarray(3));
        if (!next.trueColour || ![8, 16, 32].includes(next.bpp)) { ws.close(); return; }
        pf = next;
      } else if (type === 2) { // SetEncodings
        const n = (await input.read(3)).readUInt16BE(1);
        await input.read(4 * n);
      } else if (type === 3) { // FramebufferUpdateRequest
        const b = await input.read(9);
        const rect = { x: b.readUInt16BE(1), y: b.readUInt16BE(3), w: b.readUInt16BE(5), h: b.readUInt16BE(7) };
        // Like QEMU: a full request is answered at once; an incremental one when something changed.
        if (b[0] === 0) update(rect.x, rect.y, rect.w, rect.h);
        else pendingIncremental = rect;
      } else if (type === 4) { // KeyEvent
        const b = await input.read(7);
        if (b[0] === 1) {
          keys++;
          if (pendingIncremental) {
            pendingIncremental = null;
            const ind = RFB_LAYOUT.indicator;
            update(ind.x, ind.y, ind.size, ind.size);
          }
        }
      } else if (type === 5) { // PointerEvent
        await input.read(5);
      } else if (type === 6) { // ClientCutText (a negative length is the extended clipboard's)
        const len = Math.abs((await input.read(7)).readInt32BE(3));
        if (len > 1 << 20) { ws.close(); return; }
        await input.read(len);
      } else {
        // An unknown message has an unknown length: QEMU drops such a client too.
        ws.close();
        return;
      }
    }
  })().catch(() => { if (ws.readyState === ws.OPEN) ws.close(); });
}
