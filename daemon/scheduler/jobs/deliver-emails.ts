// deliver-emails: sends the client e-mails waiting in the outbox (VM is ready, backup restored) to
// WHMCS with SendEmail. Interval: scheduler.deliver-emails.interval_s (30 s); off while emails.enabled is not true.
import type { Job, JobDeps } from '../scheduler.ts';
import { deliverEmails } from '../../whmcs/email-outbox.ts';

export function deliverEmailsJob({ db, settings, masterKey }: Pick<JobDeps, 'db' | 'settings' | 'masterKey'>): Job {
  return {
    name: 'deliver-emails',
    describe: 'Sends client e-mails from the outbox to WHMCS (SendEmail with the templates named in the settings), with back-off while WHMCS is unreachable; one WHMCS refuses is kept, refused, with its message',
    defaultIntervalS: 30,
    async run(ctx) {
      const r = await deliverEmails(db, settings, masterKey, ctx.log);
      if (settings.get()['emails.enabled'] !== 'true') return `e-mail delivery is off (emails.enabled); ${r.pending} pending`;
      return `sent ${r.sent} e-mail(s), ${r.failed} not delivered${r.refused ? `, ${r.refused} refused by WHMCS` : ''}, ${r.pending} pending`;
    },
  };
}
