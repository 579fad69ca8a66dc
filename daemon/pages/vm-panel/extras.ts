// The network and media state the panel's Network, Firewall and ISO tabs show (the reverse DNS
// names, the customer's firewall rules, the ISO asked for), from services/vm-panel-extras.ts, in
// the shape the templates read. Every value is printed escaped.
import type { Knex } from 'knex';
import { extrasView } from '../../services/vm-panel-extras.ts';

export interface PanelExtras {
  /** PTR name by address; `custom` when the customer set it (else the VM's host name). */
  rdns: Map<string, { name: string; custom: boolean }>;
  firewallRules: Array<Record<string, string>>;
  iso: string | null;
}

export async function panelExtras(db: Knex, whmcsServiceId: number): Promise<PanelExtras> {
  const x = await extrasView(db, whmcsServiceId);
  return {
    rdns: new Map(x.rdns.map((r) => [r.address, { name: r.name, custom: r.custom }])),
    firewallRules: x.firewallRules.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]))),
    iso: x.iso,
  };
}
