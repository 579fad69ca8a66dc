// The PowerDNS driver: the authoritative server's HTTP API.
export {
  PowerDnsClient, PowerDnsRetryableError, PowerDnsTerminalError, ZoneExistsError, ZoneNotFoundError, canonical, txtContent,
} from './client.ts';
export type { PowerDnsErrorInfo, PowerDnsIO, PowerDnsServer, RRSet, RRSetChange, RecordContent, Zone, ZoneKind } from './client.ts';
