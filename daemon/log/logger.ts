// winston logger: JSON lines for machines (files, journald, log shippers), readable lines on a
// terminal. Every message and string field passes through the global masker first.
import winston from 'winston';
import { globalMasker } from './mask.ts';

export type Logger = winston.Logger;

const maskSecrets = winston.format((info) => {
  for (const [k, v] of Object.entries(info)) {
    if (typeof v === 'string') (info as Record<string, unknown>)[k] = globalMasker.mask(v);
  }
  if (typeof info.message === 'string') info.message = globalMasker.mask(info.message);
  return info;
});

export function createLogger(opts: { format?: 'json' | 'text' | 'auto'; level?: string; stream?: NodeJS.WritableStream } = {}): Logger {
  const stream = opts.stream ?? process.stderr;
  const json = opts.format === 'json' || (opts.format !== 'text' && !(stream as NodeJS.WriteStream).isTTY);
  const format = json
    ? winston.format.combine(maskSecrets(), winston.format.timestamp(), winston.format.json())
    : winston.format.combine(
      maskSecrets(),
      winston.format.timestamp({ format: 'HH:mm:ss.SSS' }),
      winston.format.printf(({ timestamp, level, message, ...rest }) => {
        const extra = Object.entries(rest).filter(([k]) => typeof k === 'string').map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
        return `${timestamp} ${level.padEnd(5)} ${message}${extra ? '  ' + extra : ''}`;
      }),
    );
  return winston.createLogger({
    level: opts.level ?? 'info',
    format,
    transports: [new winston.transports.Stream({ stream })],
  });
}
