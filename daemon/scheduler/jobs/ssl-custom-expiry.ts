// ssl-custom-expiry: e-mails the customer, through WHMCS, once per custom certificate that expires
// within ssl.custom_warn_days (14 by default). Automatic SSL leaves a custom certificate alone, so
// nobody renews it but its customer: an e-mail to the client (the e-mail outbox, delivered by
// deliver-emails with the template named in emails.ssl_custom_expiry_template) reaches the one who
// must act, where a ticket would reach staff. "Once" is per certificate: the intent's dedupe key
// and warned_fingerprint name its fingerprint, so a rerun or a second daemon adds nothing and a new
// upload (another fingerprint) is warned about again. Interval: scheduler.ssl-custom-expiry.interval_s (1 day).
import type { Knex } from 'knex';
import type { Job, JobDeps } from '../scheduler.ts';
import { T } from '../../common/tables.ts';
import { inTx } from '../../db/connect.ts';
import { queueEmail, type EmailTemplate } from '../../whmcs/email-outbox.ts';

/** The outbox's name of this e-mail; whmcs/email-outbox.ts maps it to emails.ssl_custom_expiry_template. */
export const SSL_EXPIRY_TEMPLATE: EmailTemplate = 'ssl-custom-expiry';

const DAY = 86_400_000;

/** Queues one warning per installed custom certificate expiring before now + warnDays; returns how many were queued. */
export async function warnExpiringCustomCertificates(db: Knex, o: { warnDays: number; now: number; log(line: string): void }): Promise<number> {
  const rows = await db(`${T.sslCustom} as c`).join(`${T.services} as s`, 's.id', 'c.service_id')
    .where('c.state', 'installed').where('c.not_after', '<=', o.now + o.warnDays * DAY).whereNot('s.state', 'terminated')
    .where((b) => b.whereNull('c.warned_fingerprint').orWhereRaw('c.warned_fingerprint <> c.fingerprint256'))
    .orderBy('c.not_after').limit(500)
    .select('c.service_id', 'c.role', 'c.domain', 'c.fingerprint256', 'c.names', 'c.issuer', 'c.not_after', 's.whmcs_service_id', 's.domain as service_domain');
  let queued = 0;
  for (const r of rows) {
    const notAfter = Number(r.not_after);
    const daysLeft = Math.max(0, Math.floor((notAfter - o.now) / DAY));
    let names: string[] = [];
    try {
      names = JSON.parse(String(r.names));
    } catch { /* the row's own name below */ }
    const fp = String(r.fingerprint256);
    await inTx(db, async (trx) => {
      await queueEmail(trx, {
        whmcsServiceId: Number(r.whmcs_service_id), template: SSL_EXPIRY_TEMPLATE,
        dedupeKey: `ssl-custom-expiry:${r.service_id}:${r.role}:${fp.replace(/:/g, '').toLowerCase()}`,
        vars: {
          ssl_domain: String(r.domain), ssl_role: String(r.role), ssl_names: (names.length ? names : [String(r.domain)]).join(', '),
          ssl_issuer: String(r.issuer), ssl_expires: new Date(notAfter).toISOString().slice(0, 10), ssl_days_left: String(daysLeft),
          service_domain: String(r.service_domain ?? ''),
        },
      });
      await trx(T.sslCustom).where({ service_id: r.service_id, role: r.role, fingerprint256: fp }).update({ warned_at: o.now, warned_fingerprint: fp });
    });
    queued++;
    o.log(`service ${r.whmcs_service_id}: custom ${r.role} certificate for ${r.domain} expires ${new Date(notAfter).toISOString().slice(0, 10)} (${daysLeft} day(s)): the customer is e-mailed`);
  }
  return queued;
}

export function sslCustomExpiryJob({ db, settings }: Pick<JobDeps, 'db' | 'settings'>): Job {
  return {
    name: 'ssl-custom-expiry',
    describe: 'E-mails each customer once, through WHMCS, when their custom SSL certificate expires within ssl.custom_warn_days',
    defaultIntervalS: 86_400,
    async run(ctx) {
      const warnDays = Number(settings.get()['ssl.custom_warn_days'] ?? 14);
      const n = await warnExpiringCustomCertificates(db, { warnDays, now: Date.now(), log: ctx.log });
      return `${n} expiry warning(s) queued (certificates expiring within ${warnDays} day(s))`;
    },
  };
}
