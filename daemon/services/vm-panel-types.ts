// The customer's VM panel (issue 16): what a product lets its customer do (client-area
// permissions, kept in the KVM profile) and the shape every panel action shares, so the panel's
// renderer, the action dispatcher and the actions themselves agree without importing each other.
import type { Queue } from '../engine/queue.ts';
import type { KvmProfileSpec } from '../pipelines/kvm-product.ts';

/** The panel's features, each switched on or off per product (KVM profile `client_features`). */
export const CLIENT_FEATURES = ['power', 'snapshots', 'backups', 'reinstall', 'rdns', 'password', 'iso', 'firewall', 'console', 'graphs'] as const;
export type ClientFeature = (typeof CLIENT_FEATURES)[number];

/** What a product allows its customer in the panel. */
export interface ClientPanelSettings {
  features: ClientFeature[];
  /** ISO images (Proxmox volids, e.g. local:iso/debian-12.iso) the customer may mount. */
  isos: string[];
  /** How many firewall rules the customer may keep on the VM (0: the firewall tab is read-only). */
  firewallRules: number;
}

/** The panel settings of a profile; a profile saved before the panel existed allows every feature, no ISO and no rules. */
export function panelSettingsOf(profile: KvmProfileSpec): ClientPanelSettings {
  // A stored profile's JSON may predate these fields (undefined at run time whatever the type says).
  const p = profile as Partial<Pick<KvmProfileSpec, 'client_features' | 'isos' | 'firewall_rules'>>;
  return {
    features: p.client_features ? CLIENT_FEATURES.filter((f) => (p.client_features as readonly string[]).includes(f)) : [...CLIENT_FEATURES],
    isos: p.isos ? [...p.isos] : [],
    firewallRules: typeof p.firewall_rules === 'number' ? p.firewall_rules : 0,
  };
}

/** Who asked: the WHMCS client through the module (signed), or an admin acting for them. */
export type PanelActor = { kind: 'client'; clientId: number } | { kind: 'admin'; name: string };

/** What every action gets: the service, the form's fields (strings, as a form sends them) and the engine. */
export interface PanelActionContext {
  queue: Queue;
  masterKey: Buffer;
  whmcsServiceId: number;
  actor: PanelActor;
  fields: Record<string, string>;
}

/** An action's answer: the message the customer reads, and the chain or backup run that carries it out. */
export interface PanelActionResult {
  message: string;
  chainId: number | null;
  runId?: number | null;
}

/**
 * One action of the panel. The dispatcher checks before `run`: the service is a KVM service that is
 * active (not suspended, not deploying), the product allows `feature`, and no other action of the
 * service runs. `run` checks its own fields and refuses bad input with an InputError naming the
 * field, before anything is queued.
 */
export interface PanelAction {
  feature: ClientFeature;
  /** Shown in the Operation Log and the panel's progress, e.g. "Take a snapshot". */
  label: string;
  run(ctx: PanelActionContext): Promise<PanelActionResult>;
}
