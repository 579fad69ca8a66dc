// Parameter checking in the manner of PVE::JSONSchema: every parameter must be declared, types are
// checked (booleans normalised to 0/1, integers to numbers), and all problems are reported at once
// as 400 "Parameter verification failed." with one message per field.
import { paramError } from './errors.ts';

export type Param =
  | { type: 'integer'; min?: number; max?: number; optional?: boolean; check?: (v: number) => string | undefined }
  | { type: 'number'; min?: number; max?: number; optional?: boolean }
  | { type: 'boolean'; optional?: boolean }
  | { type: 'string'; optional?: boolean; pattern?: RegExp; enum?: readonly string[]; maxLength?: number; minLength?: number; check?: (v: string) => string | undefined };

export type Schema = Record<string, Param>;
export type Params = Record<string, string | number>;

/** Raw values as they arrive: form and query strings, or JSON scalars. */
export type RawParams = Record<string, unknown>;

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

function checkOne(p: Param, raw: unknown): { value?: string | number; error?: string } {
  if (raw !== null && typeof raw === 'object') return { error: `type check ('${p.type}') failed - got non-scalar value` };
  const s = typeof raw === 'boolean' ? (raw ? '1' : '0') : String(raw);
  switch (p.type) {
    case 'boolean':
      if (TRUE.test(s)) return { value: 1 };
      if (FALSE.test(s)) return { value: 0 };
      return { error: `type check ('boolean') failed - got '${s}'` };
    case 'integer': {
      if (!/^-?\d+$/.test(s.trim())) return { error: `type check ('integer') failed - got '${s}'` };
      const n = Number(s);
      if (p.min !== undefined && n < p.min) return { error: `value must have a minimum value of ${p.min}` };
      if (p.max !== undefined && n > p.max) return { error: `value must have a maximum value of ${p.max}` };
      const e = p.check?.(n);
      return e ? { error: e } : { value: n };
    }
    case 'number': {
      if (!/^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s.trim())) return { error: `type check ('number') failed - got '${s}'` };
      const n = Number(s);
      if (p.min !== undefined && n < p.min) return { error: `value must have a minimum value of ${p.min}` };
      if (p.max !== undefined && n > p.max) return { error: `value must have a maximum value of ${p.max}` };
      return { value: n };
    }
    case 'string': {
      if (p.maxLength !== undefined && s.length > p.maxLength) return { error: `value may only be ${p.maxLength} characters long` };
      if (p.minLength !== undefined && s.length < p.minLength) return { error: `value must be at least ${p.minLength} characters long` };
      if (p.enum && !p.enum.includes(s)) return { error: `value '${s}' does not have a value in the enumeration '${p.enum.join(', ')}'` };
      if (p.pattern && !p.pattern.test(s)) return { error: 'value does not match the regex pattern' };
      const e = p.check?.(s);
      return e ? { error: e } : { value: s };
    }
  }
}

/**
 * Check `raw` against `schema`; `dynamic` may declare keys by pattern (config keys like net0..net31).
 * Returns the normalised values; throws a 400 with every bad field.
 */
export function validate(schema: Schema, raw: RawParams, dynamic?: (key: string) => Param | undefined): Params {
  const out: Params = {};
  const errors: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    const p = schema[k] ?? dynamic?.(k);
    if (!p) { errors[k] = 'property is not defined in schema and the schema does not allow additional properties'; continue; }
    const r = checkOne(p, v);
    if (r.error !== undefined) errors[k] = r.error;
    else out[k] = r.value!;
  }
  for (const [k, p] of Object.entries(schema)) {
    if (!p.optional && raw[k] === undefined && errors[k] === undefined) errors[k] = 'property is missing and it is not optional';
  }
  if (Object.keys(errors).length) paramError(errors);
  return out;
}

// Standard options shared by many methods (pve-node, pve-vmid, pve-storage-id ...).
export const NODE: Param = { type: 'string', pattern: /^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/ };
export const VMID: Param = { type: 'integer', check: (n) => (n < 100 || n > 999999999 ? 'value does not look like a valid VM ID' : undefined) };
export const STORAGE_ID: Param = { type: 'string', pattern: /^[a-z][a-z0-9\-_.]*[a-z0-9]$/i };
export const opt = <P extends Param>(p: P): P => ({ ...p, optional: true });
