// Every table hostbridge owns in WHMCS's database, by one name each. They carry the mod_hostbridge_
// prefix beside WHMCS's own tbl* tables; migrations create them (and keep their literal names, as
// a landed migration never changes), everything else names them through T.
export const T = {
  // the task engine
  services: 'mod_hostbridge_services',
  chains: 'mod_hostbridge_chains',
  tasks: 'mod_hostbridge_tasks',
  attempts: 'mod_hostbridge_task_attempts',
  targets: 'mod_hostbridge_targets',
  slots: 'mod_hostbridge_target_slots',
  jobs: 'mod_hostbridge_jobs',
  // the fleet inventory and what each service holds on it
  servers: 'mod_hostbridge_servers',
  serverHealth: 'mod_hostbridge_server_health',
  groups: 'mod_hostbridge_server_groups',
  members: 'mod_hostbridge_group_servers',
  groupDns: 'mod_hostbridge_group_dns',
  vanity: 'mod_hostbridge_vanity_domains',
  reserved: 'mod_hostbridge_reserved_names',
  holdings: 'mod_hostbridge_service_servers',
  // Proxmox VE clusters, their nodes, storages, bridges and templates
  pveClusters: 'mod_hostbridge_pve_clusters',
  pveEndpoints: 'mod_hostbridge_pve_endpoints',
  pveNodes: 'mod_hostbridge_pve_nodes',
  pveStorages: 'mod_hostbridge_pve_storages',
  pveBridges: 'mod_hostbridge_pve_bridges',
  pveTemplates: 'mod_hostbridge_pve_templates',
  // IP pools and the addresses handed out of them
  ipPools: 'mod_hostbridge_ip_pools',
  ipAddresses: 'mod_hostbridge_ip_addresses',
  // KVM product profiles
  kvmProfiles: 'mod_hostbridge_kvm_profiles',
  // the VM behind each KVM service
  vms: 'mod_hostbridge_vms',
  // VM backups and restores, traffic per month, e-mails to clients
  vmBackupDays: 'mod_hostbridge_vm_backup_days',
  vmBackupRuns: 'mod_hostbridge_vm_backup_runs',
  vmTraffic: 'mod_hostbridge_vm_traffic',
  vmTrafficCursor: 'mod_hostbridge_vm_traffic_cursor',
  emailOutbox: 'mod_hostbridge_email_outbox',
  // one-time links to a VM's browser console
  consoleLinks: 'mod_hostbridge_console_links',
  // the customer's panel: the wanted ISO, firewall rules and reverse DNS names of each VM
  vmIso: 'mod_hostbridge_vm_iso',
  vmFirewallRules: 'mod_hostbridge_vm_firewall_rules',
  vmRdns: 'mod_hostbridge_vm_rdns',
  // the Operation Log: finished attempts, chains and admin/customer actions, kept apart from the queue's clean-up
  oplog: 'mod_hostbridge_operation_log',
  // role-targeted HestiaCP configuration: managed keys per group, the last Apply per server and key
  hestiaConfig: 'mod_hostbridge_hestia_config',
  hestiaConfigRuns: 'mod_hostbridge_hestia_config_runs',
  hestiaConfigResults: 'mod_hostbridge_hestia_config_results',
  // what force terminates left on servers, for later cleanup
  leftovers: 'mod_hostbridge_leftovers',
  // per-service deploy state and usage
  dnsZones: 'mod_hostbridge_dns_zones',
  ssl: 'mod_hostbridge_ssl',
  // the Web settings tab: the customer's PHP/proxy choice, the aliases published in DNS
  webSettings: 'mod_hostbridge_web_settings',
  // the customer's own DNS records (the hosting panel's DNS tab), joined to the managed ones on every zone converge
  zoneRecords: 'mod_hostbridge_zone_records',
  // the hosting panel's sealed secrets (passwords the customer typed), until their chain ends
  panelSecrets: 'mod_hostbridge_panel_secrets',
  // hosting plan profiles: the package limits and web templates a hosting product names (configoption16)
  hostingPlans: 'mod_hostbridge_hosting_plans',
  sslCustom: 'mod_hostbridge_ssl_custom',
  usage: 'mod_hostbridge_usage',
  usageParts: 'mod_hostbridge_usage_parts',
  // WHMCS side: the ticket outbox
  ticketOutbox: 'mod_hostbridge_ticket_outbox',
  ticketNotes: 'mod_hostbridge_ticket_notes',
  // settings, API nonces, the pages' sessions and links
  settings: 'mod_hostbridge_settings',
  nonces: 'mod_hostbridge_api_nonces',
  uiSessions: 'mod_hostbridge_ui_sessions',
  uiLinks: 'mod_hostbridge_ui_links',
  uiLoginFailures: 'mod_hostbridge_ui_login_failures',
  adminActions: 'mod_hostbridge_admin_actions',
  migrations: 'mod_hostbridge_migrations',
} as const;

export type TableName = (typeof T)[keyof typeof T];
