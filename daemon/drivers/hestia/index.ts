// The HestiaCP driver: typed v-commands over a pooled, host-key-pinned SSH connection.
export type { BackupInfo, RestorePart, RestoreParts } from './backups.ts';
export { HestiaDriver, dnsConfLine, packageFile } from './driver.ts';
export type { CronSchedule, DbType, DkimRecord, DnsConfRecord, DnsRecordOptions, HestiaCronJob, HestiaDatabase, HestiaFtpAccount, MailDomainOptions, PackageLimits, ProbeResult, RestartOption, SslFiles, SslInfo } from './driver.ts';
export { HestiaRunner, SudoRefusedError } from './runner.ts';
export type { DriverIO, HestiaServer, RunOptions } from './runner.ts';
export { SshPool, HostKeyMismatchError, sha256Fingerprint } from './ssh.ts';
export { openSshConnections } from './ssh.ts';
export type { ExecOptions, ExecResult, SessionInfo, SshPoolOptions, SshServer } from './ssh.ts';
export { Arg, ArgumentError, RECORD_TYPES, checkPassword, shellQuote } from './args.ts';
export type { ArgKind, RecordType } from './args.ts';
export { buildCommand, DEFAULT_BIN_DIR } from './command.ts';
export { HESTIA_CODES, HestiaRetryableError, HestiaTerminalError, codeName, hasHestiaCode, hestiaError, isHestiaError } from './exit-codes.ts';
export type { HestiaCodeName, HestiaError, HestiaErrorInfo } from './exit-codes.ts';
export { parseHestiaJson, HestiaParseError } from './json.ts';
export type { HestiaList, HestiaObject } from './json.ts';
