// A new order planned in one pure step: from the checked request, the product it resolved to and
// one read of its server group, the service's plan (placement and names), what it will hold on
// which server, and its deploy chain. No I/O: the caller reads the group, calls this, and writes.
import { accountNames } from './names.ts';
import { place, type GroupFleet } from './placement.ts';
import { holdings, planChain, type Holding, type PlannedChain, type ServerRefs, type ServicePlan } from './plan.ts';
import type { ProductPlan } from './product.ts';
import { checkDomain } from './validate.ts';

export interface OrderRequest {
  whmcsServiceId: number;
  /** As resolved by orderDomain. */
  domain: string;
  email: string;
}

export interface PlannedOrder {
  plan: ServicePlan;
  holdings: Holding[];
  chain: PlannedChain;
}

/** The service's domain: the vanity name under its parent, else the order's domain, checked. */
export function orderDomain(product: ProductPlan, domain: string | undefined): string {
  return product.vanity ? `${product.vanity.name}.${product.vanity.parent}` : checkDomain('domain', domain ?? '');
}

/** The group's servers as the chain planner refers to them (members, vanity mail servers, DNS). */
export function groupRefs(group: GroupFleet): ServerRefs {
  return new Map([...group.members, ...group.dns].map((s) => [s.id, { id: s.id, name: s.name, driver: s.driver }]));
}

export function planOrder(req: OrderRequest, product: ProductPlan, group: GroupFleet): PlannedOrder {
  const placement = place(product, group);
  const parent = product.vanity ? group.vanity.find((v) => v.domain === product.vanity!.parent)! : null;
  const plan: ServicePlan = {
    whmcsServiceId: req.whmcsServiceId, groupId: group.id, domain: req.domain, email: req.email, product, placement,
    names: accountNames(req.whmcsServiceId, req.domain, product.mode, placement.unified !== null),
    vanity: product.vanity && parent ? { parent: parent.domain, name: product.vanity.name, mailUser: parent.mailUser, dnsUser: parent.dnsUser } : null,
  };
  return { plan, holdings: holdings(plan), chain: planChain('deploy', plan, groupRefs(group)) };
}
