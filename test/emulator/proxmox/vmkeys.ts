// The VM config keys the API accepts (a practical subset of qemu-server's confdesc), each with its
// check, and which of them a running VM takes at once (hotplug) rather than as a pending change.
import { DRIVE_KEY, isCdrom, NEW_DISK, parseDrive, parseNet, URLENCODED } from './props.ts';
import type { Param } from './schema.ts';

export const DNS_NAME = /^(?=.{1,255}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;
const str = (extra: Partial<Extract<Param, { type: 'string' }>> = {}): Param => ({ type: 'string', optional: true, ...extra });
const int = (min?: number, max?: number): Param => ({ type: 'integer', optional: true, min, max });
const bool: Param = { type: 'boolean', optional: true };

const fmt = (check: (v: string) => void) => (v: string): string | undefined => {
  try { check(v); return undefined; } catch (e) { return `invalid format - ${(e as Error).message}`; }
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+(:(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3})?$/;
const cidr4 = (s: string) => { const [ip, bits, extra] = s.split('/'); return extra === undefined && IPV4.test(ip ?? '') && /^\d+$/.test(bits ?? '') && Number(bits) <= 32; };
const cidr6 = (s: string) => { const [ip, bits, extra] = s.split('/'); return extra === undefined && IPV6.test(ip ?? '') && ip!.includes(':') && /^\d+$/.test(bits ?? '') && Number(bits) <= 128; };

function checkIpconfig(v: string): void {
  const seen = new Map<string, string>();
  for (const part of v.split(',')) {
    const [k, val] = [part.slice(0, part.indexOf('=')), part.slice(part.indexOf('=') + 1)];
    if (!part.includes('=') || !['ip', 'gw', 'ip6', 'gw6'].includes(k)) throw new Error(`${part.split('=')[0]}: property is not defined in schema and the schema does not allow additional properties`);
    seen.set(k, val);
  }
  const ip = seen.get('ip'); const gw = seen.get('gw'); const ip6 = seen.get('ip6'); const gw6 = seen.get('gw6');
  if (ip !== undefined && ip !== 'dhcp' && !cidr4(ip)) throw new Error(`ip: invalid format - invalid IPv4 CIDR '${ip}'`);
  if (gw !== undefined && !IPV4.test(gw)) throw new Error(`gw: invalid format - invalid IPv4 address '${gw}'`);
  if (ip6 !== undefined && ip6 !== 'dhcp' && ip6 !== 'auto' && !cidr6(ip6)) throw new Error(`ip6: invalid format - invalid IPv6 CIDR '${ip6}'`);
  if (gw6 !== undefined && !IPV6.test(gw6)) throw new Error(`gw6: invalid format - invalid IPv6 address '${gw6}'`);
  if (gw !== undefined && ip === undefined) throw new Error('gateway specified without specifying an IP address');
  if (gw6 !== undefined && ip6 === undefined) throw new Error('gateway specified without specifying an IP address');
  if (gw !== undefined && ip === 'dhcp') throw new Error('gateway specified together with DHCP');
}

function checkDrive(v: string): void {
  const d = parseDrive(v);
  if (d.file === 'none' || d.file === 'cdrom') return;
  if (!d.file.includes(':') && !NEW_DISK.test(d.file) && !d.file.startsWith('/')) throw new Error(`file: invalid volume '${d.file}'`);
}

const SIMPLE: Record<string, Param> = {
  name: str({ pattern: DNS_NAME }), description: str({ maxLength: 8192 }), tags: str({ pattern: /^[a-z0-9_][a-z0-9_\-+.]*([;, ][a-z0-9_][a-z0-9_\-+.]*)*$/i }),
  memory: str({ check: (v) => { const m = /^(?:current=)?(\d+)$/.exec(v); if (!m) return `invalid format - current: type check ('integer') failed - got '${v}'`; return Number(m[1]) < 16 ? 'invalid format - current: value must have a minimum value of 16' : undefined; } }),
  balloon: int(0), shares: int(0, 50000), cores: int(1), sockets: int(1), vcpus: int(1), cpulimit: { type: 'number', optional: true, min: 0, max: 128 },
  cpuunits: int(1, 262144), cpu: str(), numa: bool, onboot: bool, protection: bool, acpi: bool, kvm: bool, tablet: bool, localtime: bool, freeze: bool, template: bool,
  agent: str({ pattern: /^(1|0|enabled=[01]|[01],.+|enabled=[01],.+)$/ }),
  ostype: str({ enum: ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] }),
  boot: str(), bootdisk: str({ pattern: DRIVE_KEY }), scsihw: str({ enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] }),
  vga: str(), machine: str(), bios: str({ enum: ['seabios', 'ovmf'] }), hotplug: str({ pattern: /^(0|1|(network|disk|cpu|memory|usb|cloudinit)(,(network|disk|cpu|memory|usb|cloudinit))*)$/ }),
  smbios1: str({ maxLength: 512 }), vmgenid: str(), meta: str(), startup: str(), hookscript: str(), keyboard: str(), watchdog: str(), rng0: str(), audio0: str(), args: str(),
  migrate_downtime: { type: 'number', optional: true, min: 0 }, migrate_speed: int(0), vmstatestorage: str(), affinity: str(), arch: str({ enum: ['x86_64', 'aarch64'] }),
  citype: str({ enum: ['configdrive2', 'nocloud', 'opennebula'] }), ciuser: str(), cipassword: str(), cicustom: str(), ciupgrade: bool,
  searchdomain: str(), nameserver: str(),
  sshkeys: str({ check: (v) => (URLENCODED.test(v) ? undefined : 'invalid format - invalid urlencoded string') }),
};

export const CLOUDINIT_KEYS = /^(ciuser|cipassword|cicustom|citype|ciupgrade|sshkeys|nameserver|searchdomain|ipconfig\d+)$/;

/** The schema entry of a config key, or undefined for keys qemu-server does not know. */
export function configParam(key: string): Param | undefined {
  if (SIMPLE[key]) return SIMPLE[key];
  if (/^net([0-9]|[12][0-9]|3[01])$/.test(key)) return str({ check: fmt((v) => parseNet(v)) });
  if (/^ipconfig([0-9]|[12][0-9]|3[01])$/.test(key)) return str({ check: fmt(checkIpconfig) });
  if (DRIVE_KEY.test(key)) return str({ check: fmt(checkDrive) });
  if (/^unused\d+$/.test(key)) return str();
  if (/^serial[0-3]$/.test(key)) return str({ pattern: /^(\/dev\/.+|socket)$/ });
  if (/^(usb|hostpci|parallel|virtiofs)\d+$/.test(key)) return str();
  return undefined;
}

/** Keys a running VM applies at once: fast-plug options, cloud-init values and the hotplug set. */
export function hotpluggable(key: string, hotplug: string | number | undefined, current: Record<string, string | number>): boolean {
  if (/^(name|description|tags|onboot|protection|startup|hookscript|shares|migrate_downtime|migrate_speed|vmstatestorage|lock)$/.test(key)) return true;
  if (CLOUDINIT_KEYS.test(key)) return true;
  const hp = hotplug === undefined || String(hotplug) === '1' ? ['network', 'disk', 'usb'] : String(hotplug) === '0' ? [] : String(hotplug).split(',');
  if (/^net\d+$/.test(key)) return hp.includes('network');
  // An IDE or SATA drive is never hot-plugged; only the medium of an existing CD-ROM drive changes at once (vmconfig_update_disk).
  if (/^(ide|sata)\d+$/.test(key)) return isCdromValue(current[key]);
  if (DRIVE_KEY.test(key) && !/^(efidisk0|tpmstate0)$/.test(key)) return hp.includes('disk');
  if (/^usb\d+$/.test(key)) return hp.includes('usb');
  if (key === 'memory') return hp.includes('memory');
  if (key === 'vcpus') return hp.includes('cpu');
  if (key === 'balloon') return Number(current.balloon ?? 1) !== 0;
  if (key === 'cpulimit' || key === 'cpuunits') return true;
  return false;
}

/** Whether a config value is a CD-ROM drive (a cloud-init drive is one too). */
function isCdromValue(value: string | number | undefined): boolean {
  if (value === undefined) return false;
  try { return isCdrom(parseDrive(String(value))); } catch { return false; }
}
