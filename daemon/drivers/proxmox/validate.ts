// Arguments checked before any call, so a bad one is an InputError naming the field and
// nothing reaches the cluster. The patterns are Proxmox's own formats (reference §2).
import { isIP } from 'node:net';
import { InputError } from '../../common/errors.ts';

export function node(value: string, field = 'node'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 80)}" is not a Proxmox node name`);
  }
  return value;
}

/** VMIDs are 100..999999999 (a smaller one is "not a valid VM ID" on the server too). */
export function vmid(value: number, field = 'vmid'): number {
  if (!Number.isInteger(value) || value < 100 || value > 999_999_999) throw new InputError(field, `must be an integer from 100 to 999999999, not ${String(value)}`);
  return value;
}

export function storage(value: string, field = 'storage'): string {
  if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 80)}" is not a Proxmox storage id`);
  }
  return value;
}

export function volid(value: string, field = 'volid'): string {
  if (typeof value !== 'string' || !/^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]:\S+$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 120)}" is not a volume id (storage:path)`);
  }
  return value;
}

export function disk(value: string, field = 'disk'): string {
  if (typeof value !== 'string' || !/^(?:scsi|virtio|sata|ide|efidisk|tpmstate)\d{1,2}$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 40)}" is not a VM disk key (scsi0, virtio0, sata0, ide0, …)`);
  }
  return value;
}

/** `+10G` grows by 10 GiB, `32G` sets the size. */
export function size(value: string, field = 'size'): string {
  if (typeof value !== 'string' || !/^\+?\d+(?:\.\d+)?[KMGT]?$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 40)}" is not a disk size such as 32G or +10G`);
  }
  return value;
}

export function ipsetName(value: string, field = 'name'): string {
  if (typeof value !== 'string' || value.length > 64 || !/^[A-Za-z][A-Za-z0-9_-]+$/.test(value)) {
    throw new InputError(field, `"${String(value).slice(0, 80)}" is not an IPSet name (a letter, then letters, digits, - or _; 2 to 64 characters)`);
  }
  return value;
}

/** An address or network: `192.0.2.10`, `192.0.2.0/24`, `2001:db8::1/128`; /0 is refused as Proxmox does. */
export function cidr(value: string, field = 'cidr'): string {
  const [addr, bits, extra] = typeof value === 'string' ? value.split('/') : [];
  const family = addr ? isIP(addr) : 0;
  const max = family === 4 ? 32 : 128;
  const ok = family !== 0 && extra === undefined && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) >= 1 && Number(bits) <= max));
  if (!ok) throw new InputError(field, `"${String(value).slice(0, 80)}" is not an IP address or network (/1 to /${family === 4 ? 32 : 128})`);
  return value;
}

export function positiveInt(value: number | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new InputError(field, `must be a non-negative integer, not ${String(value)}`);
  return value;
}

export function nonEmpty(value: string, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new InputError(field, 'is required');
  return value;
}
