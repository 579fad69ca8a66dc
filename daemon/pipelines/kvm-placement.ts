// Where a new VM runs (seed 003, "Migration step in detail"): it is cloned on the node that holds
// its template, then moved offline to the node with room for it — a storage for each of its disks
// with the space they need, and the most free RAM. When no node fits, it stays where it was
// cloned: still a working VM, just not on the preferred node. Pure: the caller passes the
// cluster's nodes and storages as the inventory last saw them.

export interface PlacementNode {
  name: string;
  online: boolean;
  /** The admin may keep a node out of placement. */
  enabled: boolean;
  maxMemMb: number;
  usedMemMb: number;
  /** 0..1, the node's CPU use. */
  cpu: number;
  /** Why the node cannot be weighed at all (no figures collected yet), when that is so. */
  unavailable?: string;
}

export interface PlacementStorage {
  storage: string;
  /** The node it is on; null for a shared storage (every node sees it). */
  node: string | null;
  enabled: boolean;
  /** The roles the admin gave it. */
  system: boolean;
  additional: boolean;
  availGb: number;
}

export interface VmNeeds {
  /** The node holding the template (the clone runs there). */
  templateNode: string;
  /** The profile's node, when it names one: only that node is a candidate. */
  node: string | null;
  memoryMb: number;
  systemDiskGb: number;
  /** The profile's storage for the system disk, or null for any storage with the system role. */
  systemStorage: string | null;
  additional: { sizeGb: number; storage: string | null } | null;
}

export interface VmPlacement {
  cloneNode: string;
  targetNode: string;
  /** Where each disk lives on the target node. */
  systemStorage: string | null;
  additionalStorage: string | null;
  /** Why this node: one sentence for the task log. */
  reason: string;
}

const freeMem = (n: PlacementNode) => n.maxMemMb - n.usedMemMb;

/** A storage on `node` for a disk of `sizeGb` GiB: the named one, else the one with the role and the most room. */
function storageFor(node: string, storages: PlacementStorage[], role: 'system' | 'additional', named: string | null, sizeGb: number): PlacementStorage | null {
  const fits = storages.filter((s) => s.enabled && (s.node === null || s.node === node) && s.availGb >= sizeGb
    && (named !== null ? s.storage === named : s[role]));
  fits.sort((a, b) => b.availGb - a.availGb || a.storage.localeCompare(b.storage));
  return fits[0] ?? null;
}

export function placeVm(needs: VmNeeds, nodes: PlacementNode[], storages: PlacementStorage[]): VmPlacement {
  const candidates: Array<{ node: PlacementNode; system: PlacementStorage; additional: PlacementStorage | null }> = [];
  const refused: string[] = [];
  for (const n of nodes) {
    if (needs.node !== null && n.name !== needs.node) continue;
    if (n.unavailable) { refused.push(`${n.name} ${n.unavailable}`); continue; }
    if (!n.online) { refused.push(`${n.name} is offline`); continue; }
    if (!n.enabled) { refused.push(`${n.name} is kept out of placement`); continue; }
    if (freeMem(n) < needs.memoryMb) { refused.push(`${n.name} has ${Math.max(0, freeMem(n))} MB free, ${needs.memoryMb} MB needed`); continue; }
    const system = storageFor(n.name, storages, 'system', needs.systemStorage, needs.systemDiskGb);
    if (!system) { refused.push(`${n.name} has no ${needs.systemStorage ?? 'system-disk'} storage with ${needs.systemDiskGb} GB free`); continue; }
    let additional: PlacementStorage | null = null;
    if (needs.additional) {
      additional = storageFor(n.name, storages, 'additional', needs.additional.storage, needs.additional.sizeGb);
      if (!additional) { refused.push(`${n.name} has no ${needs.additional.storage ?? 'additional-disk'} storage with ${needs.additional.sizeGb} GB free`); continue; }
    }
    candidates.push({ node: n, system, additional });
  }
  // Most free RAM first, then the less busy CPU, then the name: the same inventory gives the same choice.
  candidates.sort((a, b) => freeMem(b.node) - freeMem(a.node) || a.node.cpu - b.node.cpu || a.node.name.localeCompare(b.node.name));
  const best = candidates[0];
  if (!best) {
    const why = refused.length ? refused.join('; ') : needs.node !== null ? `node ${needs.node} is not in the cluster` : 'the cluster has no nodes';
    return {
      cloneNode: needs.templateNode, targetNode: needs.templateNode, systemStorage: needs.systemStorage,
      additionalStorage: needs.additional?.storage ?? null, reason: `no node fits (${why}): the VM stays on ${needs.templateNode}, where its template is`,
    };
  }
  const moved = best.node.name !== needs.templateNode;
  return {
    cloneNode: needs.templateNode, targetNode: best.node.name, systemStorage: best.system.storage, additionalStorage: best.additional?.storage ?? null,
    reason: `${best.node.name} has the most free RAM (${freeMem(best.node)} MB) with room on ${best.system.storage}`
      + (moved ? `; cloned on ${needs.templateNode}, where the template is, then moved` : ''),
  };
}
