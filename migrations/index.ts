// The ordered list of migrations. Add new files at the end; never edit one that has landed.
import type { Knex } from 'knex';
import * as m001 from './20261123000001_engine.ts';
import * as m002 from './20261123000002_fleet_api.ts';
import * as m003 from './20261123000003_deploy_state.ts';
import * as m004 from './20261123000004_ui.ts';
import * as m005 from './20261123000005_server_health.ts';
import * as m006 from './20261202000006_drop_unread.ts';
import * as m20261206_3 from './202612060003_admin_actions.ts';
import * as m20261206_4 from './20261206000400_step_dependencies.ts';
import * as m20261206_5 from './20261206000500_ip_pools.ts';
import * as m20261206_6 from './20261206000600_proxmox_clusters.ts';
import * as m20261206_7 from './20261206000700_kvm_profiles.ts';
import * as m20261206_8 from './20261206000800_vms.ts';
import * as m20261206_9 from './20261206000900_vm_backups.ts';
import * as m20261206_10 from './20261206001000_vm_traffic.ts';
import * as m20261206_11 from './20261206001100_email_outbox.ts';
import * as m20261206_12 from './20261206001200_console_links.ts';
import * as m20261206_13 from './20261206001300_vm_panel.ts';
import * as m20261206_14 from './20261206001400_vm_network.ts';
import * as m20261206_15 from './20261206001500_operation_log.ts';
import * as m20261206_16 from './20261206001600_hestia_config.ts';
import * as m20261206_17 from './20261206001700_dns_suspend.ts';
import * as m20261207_1 from './20261207000100_ssl_automation.ts';
import * as m20261207_2 from './20261207000200_ssl_custom.ts';
import * as m20261207_3 from './20261207000300_hosting_plans.ts';
import * as m20261207_4 from './20261207000400_panel_secrets.ts';
import * as m20261207_5 from './20261207000500_zone_records.ts';
import * as m20261208_1 from './20261208000100_web_settings.ts';
import * as m20261209_1 from './20261209000100_tasks_claim_order.ts';
import * as m20261210_1 from './20261210000100_tasks_queued_target.ts';

interface Migration { up(knex: Knex): Promise<void>; down(knex: Knex): Promise<void> }

export const MIGRATIONS: ReadonlyArray<[string, Migration]> = [
  ['20261123000001_engine', m001],
  ['20261123000002_fleet_api', m002],
  ['20261123000003_deploy_state', m003],
  ['20261123000004_ui', m004],
  ['20261123000005_server_health', m005],
  ['20261202000006_drop_unread', m006],
  ['202612060003_admin_actions', m20261206_3],
  ['20261206000400_step_dependencies', m20261206_4],
  ['20261206000500_ip_pools', m20261206_5],
  ['20261206000600_proxmox_clusters', m20261206_6],
  ['20261206000700_kvm_profiles', m20261206_7],
  ['20261206000800_vms', m20261206_8],
  ['20261206000900_vm_backups', m20261206_9],
  ['20261206001000_vm_traffic', m20261206_10],
  ['20261206001100_email_outbox', m20261206_11],
  ['20261206001200_console_links', m20261206_12],
  ['20261206001300_vm_panel', m20261206_13],
  ['20261206001400_vm_network', m20261206_14],
  ['20261206001500_operation_log', m20261206_15],
  ['20261206001600_hestia_config', m20261206_16],
  ['20261206001700_dns_suspend', m20261206_17],
  ['20261207000100_ssl_automation', m20261207_1],
  ['20261207000200_ssl_custom', m20261207_2],
  ['20261207000300_hosting_plans', m20261207_3],
  ['20261207000400_panel_secrets', m20261207_4],
  ['20261207000500_zone_records', m20261207_5],
  ['20261208000100_web_settings', m20261208_1],
  ['20261209000100_tasks_claim_order', m20261209_1],
  ['20261210000100_tasks_queued_target', m20261210_1],
];
