// Secrets never reach a log, a task log, a ticket or a page: every text that leaves the
// daemon passes through a Masker that knows the secrets in play.
export const MASK = '********';

export class Masker {
  private readonly secrets = new Set<string>();

  constructor(private readonly parent?: Masker) {}

  /** Remember a secret; very short values are ignored, as masking them would garble ordinary text. */
  add(secret: string | null | undefined): this {
    if (secret && secret.length >= 4) this.secrets.add(secret);
    return this;
  }

  mask(text: string): string {
    let out = this.parent ? this.parent.mask(text) : text;
    for (const s of this.secrets) {
      if (out.includes(s)) out = out.split(s).join(MASK);
    }
    return out;
  }
}

/** Process-wide secrets (the shim secret, the master key); task maskers chain to it. */
export const globalMasker = new Masker();
