// v-change-sys-config-value KEY VALUE and v-list-sys-config [FORMAT], from HestiaCP's bin/ scripts
// (hestiacp@d128cc6). The change: demo-mode check first (plain `exit 1`, no error.log line), then
// check_args 2, KEY upper-cased and checked with is_common_format_valid ("invalid key format"),
// VALUE with format_no_quotes (' " or | → 2) and is_no_new_line_format; then change_sys_value
// (`sed s|^KEY=.*|KEY='VALUE'|`, so "&" and "\" in VALUE are mangled as sed does, or an appended
// line) and the file sorted. The listing prints a fixed key set, unset keys as "", and on a DNS
// node SUPPORT_DNSSEC as the script computes it from bind's version (the emulated bind is 9.18: yes).
import { E, HestiaExit, fail } from '../errors.ts';
import { readKeyFile, writeKeyFile } from '../conf.ts';
import { paths } from '../node.ts';
import * as V from '../validate.ts';
import type { Command } from './types.ts';

/** v-list-sys-config's json_list keys, in its order. */
export const SYS_CONFIG_KEYS = [
  'ANTISPAM_SYSTEM', 'ANTIVIRUS_SYSTEM', 'API', 'API_ALLOWED_IP', 'API_SYSTEM', 'APP_NAME', 'BACKEND_PORT', 'BACKUP', 'BACKUP_GZIP',
  'BACKUP_INCREMENTAL', 'BACKUP_MODE', 'BACKUP_SYSTEM', 'CRON_SYSTEM', 'DB_PGA_ALIAS', 'DB_PMA_ALIAS', 'DB_SYSTEM', 'DEBUG_MODE', 'DEMO_MODE',
  'DISABLE_IP_CHECK', 'DISK_QUOTA', 'RESOURCES_LIMIT', 'DNS_CLUSTER', 'DNS_CLUSTER_SYSTEM', 'DNS_SYSTEM', 'ENFORCE_SUBDOMAIN_OWNERSHIP',
  'FILE_MANAGER', 'FIREWALL_EXTENSION', 'FIREWALL_SYSTEM', 'FROM_EMAIL', 'FROM_NAME', 'FTP_SYSTEM', 'HIDE_DOCS', 'IMAP_SYSTEM',
  'INACTIVE_SESSION_TIMEOUT', 'LANGUAGE', 'LOGIN_STYLE', 'MAIL_SYSTEM', 'PHPMYADMIN_KEY', 'PLUGIN_APP_INSTALLER', 'PLUGIN_FILE_MANAGER',
  'PMA_RESTRICT_ACCESS', 'POLICY_BACKUP_SUSPENDED_USERS', 'POLICY_CSRF_STRICTNESS', 'POLICY_SYNC_ERROR_DOCUMENTS', 'POLICY_SYNC_SKELETON',
  'POLICY_SYSTEM_ENABLE_BACON', 'POLICY_SYSTEM_HIDE_ADMIN', 'POLICY_SYSTEM_HIDE_SERVICES', 'POLICY_SYSTEM_PASSWORD_RESET',
  'POLICY_SYSTEM_PROTECTED_ADMIN', 'POLICY_USER_CHANGE_THEME', 'POLICY_USER_DELETE_LOGS', 'POLICY_USER_EDIT_DETAILS',
  'POLICY_USER_EDIT_DNS_TEMPLATES', 'POLICY_USER_EDIT_WEB_TEMPLATES', 'POLICY_USER_VIEW_LOGS', 'POLICY_USER_VIEW_SUSPENDED', 'PROXY_PORT',
  'PROXY_SSL_PORT', 'PROXY_SYSTEM', 'RELEASE_BRANCH', 'REPOSITORY', 'ROOT_USER', 'SERVER_SMTP_ADDR', 'SERVER_SMTP_HOST', 'SERVER_SMTP_PASSWD',
  'SERVER_SMTP_PORT', 'SERVER_SMTP_SECURITY', 'SERVER_SMTP_USER', 'SMTP_RELAY', 'SMTP_RELAY_HOST', 'SMTP_RELAY_PORT', 'SMTP_RELAY_USER',
  'STATS_SYSTEM', 'SUBJECT_EMAIL', 'SUPPORT_DNSSEC', 'THEME', 'TITLE', 'UPDATE_AVAILABLE', 'UPGRADE_SEND_EMAIL', 'UPGRADE_SEND_EMAIL_LOG',
  'USE_SERVER_SMTP', 'VERSION', 'WEBMAIL_ALIAS', 'WEBMAIL_SYSTEM', 'WEB_BACKEND', 'WEB_PORT', 'WEB_RGROUPS', 'WEB_SSL', 'WEB_SSL_PORT',
  'WEB_SYSTEM', 'WEB_TERMINAL', 'WEB_TERMINAL_PORT',
] as const;

/** sed's replacement text: "\x" is x, "&" is the whole matched line. */
function sedReplacement(text: string, matched: string): string {
  return text.replace(/\\(.)|&/g, (m, escaped: string | undefined) => (escaped !== undefined ? escaped : matched));
}

const changeSysConfigValue: Command = {
  logs: true,
  run(c) {
    // check_hestia_demo_mode runs before anything, and exits 1 without check_result (no error.log line).
    if (c.conf('DEMO_MODE') === 'yes') throw new HestiaExit(E.ARGS, 'ERROR: Unable to perform operation due to security restrictions that are in place.\n', false);
    c.checkArgs(2, 'KEY VALUE');
    const key = c.arg(1).toUpperCase();
    const value = c.arg(2);
    V.common(key, 'key');
    if (/['"|]/.test(value)) fail(E.INVALID, `Invalid value contains qoutes (" or ' or | ) :: ${value}`);
    if (value.split('\n')[0] !== value) fail(E.INVALID, `invalid value :: ${value}`);
    const file = paths.conf(c.dir);
    const conf = readKeyFile(file);
    const old = conf.get(key);
    // change_sys_value: sed -i "s|^KEY=.*|KEY='VALUE'|g" on an existing key, echo >> otherwise.
    conf.set(key, old === undefined ? value : sedReplacement(`${key}='${value}'`, `${key}='${old}'`).replace(new RegExp(`^${key}='`), '').replace(/'$/, ''));
    writeKeyFile(file, new Map([...conf].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
    return '';
  },
};

function values(c: { conf(k: string): string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SYS_CONFIG_KEYS) out[k] = c.conf(k);
  // The script overrides SUPPORT_DNSSEC on a DNS node from `named -v` (bind newer than 9.16.18: yes).
  if (out.DNS_SYSTEM !== '') out.SUPPORT_DNSSEC = 'yes';
  return out;
}

/** shell_list (also what `plain` prints): the lines the script echoes for the subsystems that are set. */
function shellList(v: Record<string, string>): string {
  const l: string[] = [];
  const pad = (label: string, value: string) => l.push(`${(label + ':').padEnd(34)}${value}`);
  if (v.WEB_SYSTEM) { pad('Web Server', `${v.WEB_SYSTEM}:${v.WEB_PORT} (${v.WEB_RGROUPS})`); pad('SSL Support', `${v.WEB_SSL}:${v.WEB_SSL_PORT}`); }
  if (v.WEB_BACKEND) pad('PHP Intepreter', v.WEB_BACKEND);
  if (v.PROXY_SYSTEM) { pad('Proxy Server', `${v.PROXY_SYSTEM}:${v.PROXY_PORT}`); pad('Proxy SSL', `${v.PROXY_SYSTEM}:${v.PROXY_SSL_PORT}`); }
  if (v.FTP_SYSTEM) pad('FTP Server', v.FTP_SYSTEM);
  if (v.MAIL_SYSTEM) {
    pad('Mail Server', [v.MAIL_SYSTEM, v.IMAP_SYSTEM, v.ANTIVIRUS_SYSTEM, v.ANTISPAM_SYSTEM].filter(Boolean).join(' + '));
    if (v.WEBMAIL_ALIAS) pad('Webmail alias', v.WEBMAIL_ALIAS);
  }
  if (v.DNS_SYSTEM) pad('DNS Server', `${v.DNS_SYSTEM}${v.DNS_CLUSTER ? ' (cluster)' : ''}`);
  if (v.CRON_SYSTEM) pad('CRON daemon', v.CRON_SYSTEM);
  if (v.BACKUP_SYSTEM) { pad('Backups', v.BACKUP_SYSTEM.replace(/,/g, ', ')); pad('Backup Directory', v.BACKUP!); }
  if (v.LANGUAGE && v.LANGUAGE !== 'en') pad('System Language', v.LANGUAGE);
  pad('Version', v.VERSION!);
  if (v.DEMO_MODE) pad('Demo Mode', v.DEMO_MODE);
  pad('SMTP Server Account enabled', v.USE_SERVER_SMTP!);
  pad('Release Branch', v.RELEASE_BRANCH!);
  pad('Debug Mode', v.DEBUG_MODE!);
  pad('Theme', v.THEME!);
  return l.join('\n') + '\n';
}

const listSysConfig: Command = {
  run(c) {
    const format = c.args.length >= 1 ? c.arg(1) : 'shell';
    const v = values(c);
    switch (format) {
      // json_list: tab-indented, every value a string interpolated unescaped.
      case 'json': return '{\n\t"config": {\n' + SYS_CONFIG_KEYS.map((k) => `\t\t"${k}": "${v[k]}"`).join(',\n') + '\n\t}\n}\n';
      case 'shell': case 'plain': return shellList(v);
      default: return '';
    }
  },
};

export const sysConfigCommands: Record<string, Command> = {
  'v-change-sys-config-value': changeSysConfigValue,
  'v-list-sys-config': listSysConfig,
};
