// What a module call sends for a new service and what every lifecycle call answers: shared by the
// hosting and the KVM lifecycles.
import type { ProductInput } from '../pipelines/product.ts';

export interface CreateBody extends ProductInput {
  whmcs_service_id: number;
  client_id: number;
  product_id: number;
  domain?: string;
  username?: string;
  password: string;
  email?: string;
  /** A hosting product's server group (configoption2); absent or null for a KVM product. */
  server_group_id?: number | null;
}

export interface LifecycleAnswer {
  ok: true;
  whmcs_service_id: number;
  chain_id: number | null;
  state: string;
  /** False when the call found its work already there and changed nothing. */
  created: boolean;
  message?: string;
}
