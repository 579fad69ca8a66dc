// The task types that run planned hosting steps against the fleet (pipelines/plan.ts names them).
import type { TaskRegistry } from '../../engine/registry.ts';
import { registerAccountHandlers } from './accounts.ts';
import { registerDomainHandlers } from './domains.ts';
import { registerVanityHandlers } from './vanity.ts';
import { registerUsageHandlers } from './usage.ts';
import { registerHealthHandlers } from './health.ts';
import { registerSysConfigHandlers } from './sys-config.ts';
import { registerDnsStateHandlers } from './dns-state.ts';
import { registerForceRemoveHandlers } from './force-remove.ts';
import { registerSslHandlers } from './ssl.ts';
import { registerWebTemplateHandlers } from './web-templates.ts';
import { registerCustomSslHandlers } from './ssl-custom.ts';
import { registerPanelMailHandlers } from './panel-mail.ts';
import { registerPanelDbHandlers } from './panel-db.ts';
import { registerFtpPanelHandlers } from './panel-ftp.ts';
import { registerCronPanelHandlers } from './panel-cron.ts';
import { registerPanelDnsHandlers } from './panel-dns.ts';
import { registerPanelWebHandlers } from './panel-web.ts';
import { registerPanelBackupHandlers } from './panel-backups.ts';
import { registerRoleChangeHandlers } from './role-change.ts';
import { registerUnifiedRoleChangeHandlers } from './role-change-unified.ts';
import type { HostingDeps } from './context.ts';

export type { HostingDeps } from './context.ts';

export function registerHostingHandlers(registry: TaskRegistry, deps: HostingDeps): TaskRegistry {
  registerAccountHandlers(registry, deps);
  registerDomainHandlers(registry, deps);
  registerVanityHandlers(registry, deps);
  registerUsageHandlers(registry, deps);
  registerHealthHandlers(registry, deps);
  registerSysConfigHandlers(registry, deps);
  registerDnsStateHandlers(registry, deps);
  registerForceRemoveHandlers(registry, deps);
  registerSslHandlers(registry, deps);
  registerWebTemplateHandlers(registry, deps);
  registerCustomSslHandlers(registry, deps);
  registerPanelMailHandlers(registry, deps);
  registerPanelDbHandlers(registry, deps);
  registerFtpPanelHandlers(registry, deps);
  registerCronPanelHandlers(registry, deps);
  registerPanelDnsHandlers(registry, deps);
  registerPanelWebHandlers(registry, deps);
  registerPanelBackupHandlers(registry, deps);
  registerRoleChangeHandlers(registry, deps);
  registerUnifiedRoleChangeHandlers(registry, deps);
  return registry;
}
