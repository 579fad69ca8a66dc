// The steps of a customer's own certificate (services/ssl-custom.ts queues them). Install: check
// what HestiaCP serves (our fingerprint already → done), take off a Let's Encrypt or older
// certificate (which also turns LETSENCRYPT off, so HestiaCP's own renewal cannot overwrite ours),
// install ours, verify it is what is served. Remove: take ours off if it is what is served, then
// hand the role back to automatic SSL in fast mode. The certificate and its sealed key are read
// from mod_hostbridge_ssl_custom when the step runs; the key is unsealed in memory, declared a
// secret of the attempt, and never logged.
import type { TaskContext, TaskRegistry } from '../../engine/registry.ts';
import { TerminalError } from '../../common/errors.ts';
import { T } from '../../common/tables.ts';
import { decryptSecret } from '../../crypto/secretbox.ts';
import { inTx } from '../../db/connect.ts';
import { hasHestiaCode, isHestiaError, type HestiaDriver } from '../../drivers/hestia/index.ts';
import { fingerprintOf } from '../../ssl/custom-cert.ts';
import type { StepArgs } from '../../pipelines/steps.ts';
import { registerStep } from '../step-args.ts';
import type { HostingDeps } from './context.ts';

type Args = StepArgs['ssl.install-custom'];

interface StoredCert { fingerprint256: string; certPem: string; chainPem: string; keySealed: string; state: string; domain: string; notAfter: number; issuer: string }

async function storedCert(deps: HostingDeps, serviceId: number, role: string): Promise<StoredCert | null> {
  const r = await deps.db(T.sslCustom).where({ service_id: serviceId, role }).first();
  if (!r) return null;
  return {
    fingerprint256: String(r.fingerprint256), certPem: String(r.cert_pem), chainPem: String(r.chain_pem ?? ''), keySealed: String(r.key_sealed),
    state: String(r.state), domain: String(r.domain), notAfter: Number(r.not_after), issuer: String(r.issuer),
  };
}

function serviceOf(ctx: TaskContext): number {
  if (ctx.task.serviceId === null) throw new TerminalError(`${ctx.task.type} needs a service`);
  return ctx.task.serviceId;
}

/** The fingerprint of what HestiaCP serves for the role, or null when SSL is off there. */
async function servedFingerprint(driver: HestiaDriver, a: Args): Promise<string | null> {
  const info = a.role === 'web' ? await driver.webSslInfo(a.user, a.domain) : await driver.mailSslInfo(a.user, a.domain);
  return info ? fingerprintOf(info.certPem) ?? 'unreadable' : null;
}

async function letsEncryptOn(driver: HestiaDriver, a: Args): Promise<boolean> {
  const d = a.role === 'web' ? (await driver.listWebDomains(a.user))[a.domain] : (await driver.listMailDomains(a.user))[a.domain];
  return d?.LETSENCRYPT === 'yes';
}

/** A HestiaCP refusal of the certificate is final: its own line says why (files, chain, key). */
async function refused(deps: HostingDeps, serviceId: number, a: Args, err: unknown, what: string): Promise<never> {
  if (isHestiaError(err) && err.kind === 'terminal') {
    const line = `HestiaCP refused to ${what}: ${err.errorLine ?? err.message}`;
    await deps.db(T.sslCustom).where({ service_id: serviceId, role: a.role }).update({ last_error: line.slice(0, 2000), updated_at: Date.now() });
    throw new TerminalError(line, { cause: err });
  }
  throw err;
}

export function registerCustomSslHandlers(registry: TaskRegistry, deps: HostingDeps): void {
  registerStep(registry, 'ssl.install-custom', 'Installs the customer\'s own certificate for a role with HestiaCP\'s command, with Let\'s Encrypt off so HestiaCP\'s renewal leaves it alone.', async (ctx, a) => {
    const serviceId = serviceOf(ctx);
    const cert = await storedCert(deps, serviceId, a.role);
    if (!cert || cert.state === 'removing') {
      ctx.log(`no custom ${a.role} certificate is waiting to be installed (it was removed meanwhile)`);
      return { installed: false };
    }
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const served = await servedFingerprint(driver, a);
    const le = await letsEncryptOn(driver, a);
    if (served === cert.fingerprint256 && !le) {
      ctx.log(`${server.name} already serves the custom certificate for ${a.domain} (${a.role})`);
    } else {
      const key = decryptSecret(deps.masterKey, cert.keySealed);
      ctx.secret(key);
      for (const line of key.split('\n')) if (line.length >= 16 && !line.startsWith('-----')) ctx.secret(line);
      try {
        // Let's Encrypt's own removal takes its certificate with it and turns LETSENCRYPT off, even
        // when the flag outlived the certificate; another certificate goes with v-delete-*-ssl.
        if (le) await driver.deleteLetsEncrypt(a.user, a.domain, { mail: a.role === 'mail' });
        else if (served !== null) await (a.role === 'web' ? driver.deleteWebSsl(a.user, a.domain) : driver.deleteMailSsl(a.user, a.domain));
        if (served !== null || le) ctx.log(`the certificate ${server.name} served for ${a.domain} (${a.role}) was taken off${le ? ', and Let\'s Encrypt with it' : ''}`);
      } catch (err) {
        // Already off (another attempt got there first): nothing to take off.
        if (!hasHestiaCode(err, 'E_NOTEXIST')) await refused(deps, serviceId, a, err, 'take the old certificate off');
      }
      const files = { cert: cert.certPem, key, chain: cert.chainPem || undefined };
      try {
        if (a.role === 'web') await driver.installWebSsl(a.user, a.domain, files);
        else await driver.installMailSsl(a.user, a.domain, files);
      } catch (err) {
        await refused(deps, serviceId, a, err, 'install the certificate');
      }
      ctx.log(`custom certificate installed for ${a.domain} (${a.role}) on ${server.name}`);
    }
    const now = await servedFingerprint(driver, a);
    if (now !== cert.fingerprint256) throw new TerminalError(`${server.name} does not serve the custom certificate for ${a.domain} after the install (it serves ${now === null ? 'none' : `another, ${now.slice(0, 23)}…`})`);
    if (await letsEncryptOn(driver, a)) throw new TerminalError(`${server.name} still has Let's Encrypt on for ${a.domain}: its renewal would overwrite the custom certificate`);
    await inTx(deps.db, async (trx) => {
      // Only the certificate this step installed: a newer upload is installed by its own step.
      await trx(T.sslCustom).where({ service_id: serviceId, role: a.role, fingerprint256: cert.fingerprint256, state: 'installing' }).update({ state: 'installed', last_error: null, updated_at: Date.now() });
      await trx(T.ssl).where({ service_id: serviceId, domain: cert.domain }).update({
        state: 'custom', not_after: cert.notAfter, issuer: cert.issuer.slice(0, 255), last_error: null, last_check_at: Date.now(),
        last_result: `custom certificate ${cert.fingerprint256.slice(0, 23)}… served by ${server.name}`, updated_at: Date.now(),
      });
    });
    ctx.log(`${server.name} serves it, Let's Encrypt is off: automatic SSL leaves ${a.domain} (${a.role}) alone until the certificate is removed`);
    return { installed: true, fingerprint256: cert.fingerprint256 };
  }, { maxAttempts: 5 });

  registerStep(registry, 'ssl.remove-custom', 'Removes the customer\'s own certificate for a role and hands the role back to automatic SSL.', async (ctx, a) => {
    const serviceId = serviceOf(ctx);
    const cert = await storedCert(deps, serviceId, a.role);
    const { driver, server } = await deps.fleet.hestia(a.server, ctx);
    const served = await servedFingerprint(driver, a);
    if (cert && served === cert.fingerprint256) {
      try {
        if (a.role === 'web') await driver.deleteWebSsl(a.user, a.domain);
        else await driver.deleteMailSsl(a.user, a.domain);
      } catch (err) {
        if (!hasHestiaCode(err, 'E_NOTEXIST')) await refused(deps, serviceId, a, err, 'remove the certificate');
      }
      ctx.log(`custom certificate taken off ${a.domain} (${a.role}) on ${server.name}`);
    } else {
      ctx.log(served === null ? `${server.name} serves no certificate for ${a.domain} (${a.role})` : `${server.name} serves another certificate for ${a.domain} (${a.role}): left alone`);
    }
    const after = await servedFingerprint(driver, a);
    if (cert && after === cert.fingerprint256) throw new TerminalError(`${server.name} still serves the custom certificate for ${a.domain} after the removal`);
    const sslDomain = a.role === 'web' ? a.domain : `mail.${a.domain}`;
    await inTx(deps.db, async (trx) => {
      await trx(T.sslCustom).where({ service_id: serviceId, role: a.role, state: 'removing' }).delete();
      // Automatic SSL resumes in fast mode: due now, its fast checks counted from zero.
      await trx(T.ssl).where({ service_id: serviceId, domain: sslDomain, state: 'custom' }).update({
        state: 'waiting-dns', next_check_at: Date.now(), checks: 0, failures: 0, frozen_until: null, not_after: null, issuer: null,
        last_result: 'custom certificate removed: automatic SSL resumes', last_error: null, updated_at: Date.now(),
      });
    });
    ctx.log(`automatic SSL resumes for ${sslDomain}`);
    return { removed: true };
  }, { maxAttempts: 5 });
}
