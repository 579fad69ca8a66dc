// WHMCS as far as the tests need it: a subset of its 8.4 schema (ticket, department, client and
// service tables, with WHMCS's NOT NULL text columns) and a stand-in for its External API
// (/includes/api.php) that writes tickets and notes into those tables the way WHMCS does.
import http from 'node:http';
import crypto from 'node:crypto';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Knex } from 'knex';

export async function createWhmcsTables(db: Knex): Promise<void> {
  await db.raw(`CREATE TABLE tblclients (id int(10) NOT NULL AUTO_INCREMENT, firstname text NOT NULL, lastname text NOT NULL, email text NOT NULL,
    status enum('Active','Inactive','Closed') NOT NULL DEFAULT 'Active', PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
  await db.raw(`CREATE TABLE tblhosting (id int(10) NOT NULL AUTO_INCREMENT, userid int(10) NOT NULL, packageid int(10) NOT NULL, server int(10) NOT NULL,
    regdate date NOT NULL, domain text NOT NULL, domainstatus enum('Pending','Active','Suspended','Terminated','Cancelled','Fraud','Completed') NOT NULL DEFAULT 'Pending',
    username text NOT NULL, password text NOT NULL, dedicatedip text NOT NULL DEFAULT '', assignedips text NOT NULL DEFAULT '', diskusage int(10) NOT NULL DEFAULT 0, disklimit int(10) NOT NULL DEFAULT 0, bwusage int(10) NOT NULL DEFAULT 0,
    bwlimit int(10) NOT NULL DEFAULT 0, lastupdate datetime NOT NULL DEFAULT '0000-00-00 00:00:00', PRIMARY KEY (id), KEY userid (userid)) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
  await db.raw(`CREATE TABLE tblticketdepartments (id int(10) NOT NULL AUTO_INCREMENT, name text NOT NULL, description text NOT NULL, email text NOT NULL,
    clientsonly text NOT NULL, piperepliesonly text NOT NULL, noautoresponder text NOT NULL, hidden text NOT NULL, \`order\` int(1) NOT NULL,
    PRIMARY KEY (id)) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
  await db.raw(`CREATE TABLE tbltickets (id int(10) NOT NULL AUTO_INCREMENT, tid varchar(128) NOT NULL, did int(10) NOT NULL, userid int(10) NOT NULL,
    contactid int(10) NOT NULL, requestor_id int(10) unsigned NOT NULL DEFAULT 0, name text NOT NULL, email text NOT NULL, cc text NOT NULL, c text NOT NULL,
    date datetime NOT NULL, title text NOT NULL, message text NOT NULL, status varchar(64) NOT NULL, urgency text NOT NULL, admin text NOT NULL,
    attachment text NOT NULL, lastreply datetime NOT NULL, flag int(1) NOT NULL, clientunread int(1) NOT NULL, adminunread text NOT NULL,
    service text NOT NULL, merged_ticket_id int(11) NOT NULL DEFAULT 0, editor enum('plain','markdown','bbcode') NOT NULL DEFAULT 'plain',
    updated_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id), KEY tid_c (tid, c(64)), KEY userid (userid)) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
  await db.raw(`CREATE TABLE tblticketnotes (id int(10) NOT NULL AUTO_INCREMENT, ticketid int(10) NOT NULL, admin text NOT NULL, date datetime NOT NULL,
    message text NOT NULL, attachments text NOT NULL, editor enum('plain','markdown') NOT NULL DEFAULT 'plain', PRIMARY KEY (id), KEY ticketid (ticketid)) ENGINE=InnoDB DEFAULT CHARSET=utf8`);
}

/** The product e-mail templates the stand-in's WHMCS has (SendEmail's messagename). */
export const WHMCS_EMAIL_TEMPLATES = ['Hosting Account Welcome Email', 'VPS Ready', 'VPS Backup Restored'];

export interface WhmcsStandin {
  url: string;
  calls: Array<{ action: string; params: Record<string, string> }>;
  stop(): Promise<void>;
}

const sqlNow = () => new Date().toISOString().slice(0, 19).replace('T', ' ');

/**
 * WHMCS checks a non-client opener's address and answers "Email Address Invalid" (a documented
 * OpenTicket error; it refused "hostbridge@localhost"). The rule here is PHP's FILTER_VALIDATE_EMAIL
 * as far as it matters (local part of atext runs, a domain of two or more hostname labels).
 */
function phpValidEmail(v: string): boolean {
  const at = v.lastIndexOf('@');
  if (at < 1 || v.length > 320) return false;
  const local = v.slice(0, at);
  const domain = v.slice(at + 1);
  const atext = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
  const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const labels = domain.split('.');
  return local.length <= 64 && local.split('.').every((p) => atext.test(p)) && labels.length >= 2 && labels.every((l) => label.test(l));
}

/** The External API's answer for an action, as WHMCS gives it (ids as strings, errors in `message`). */
async function answer(db: Knex, action: string, p: Record<string, string>): Promise<Record<string, unknown>> {
  if (action === 'OpenTicket') {
    for (const f of ['deptid', 'subject', 'message']) if (!p[f]) return { result: 'error', message: `${f === 'deptid' ? 'Department ID' : f[0].toUpperCase() + f.slice(1)} is required` };
    if (!(await db('tblticketdepartments').where('id', Number(p.deptid)).first('id'))) return { result: 'error', message: 'Department ID not found' };
    let userid = 0;
    if (p.clientid) {
      if (!(await db('tblclients').where('id', Number(p.clientid)).first('id'))) return { result: 'error', message: 'Client ID Not Found' };
      userid = Number(p.clientid);
    } else if (!p.name || !p.email) return { result: 'error', message: 'Name and email address are required if not a client' };
    else if (!phpValidEmail(p.email)) return { result: 'error', message: 'Email Address Invalid' };
    if (p.serviceid && !(await db('tblhosting').where('id', Number(p.serviceid)).first('id'))) return { result: 'error', message: 'Service ID Not Found' };
    if (p.priority && !['Low', 'Medium', 'High'].includes(p.priority)) return { result: 'error', message: 'Invalid Priority' };
    const tid = String(crypto.randomInt(100000, 999999));
    const c = crypto.randomBytes(4).toString('hex');
    const [id] = await db('tbltickets').insert({
      tid, did: Number(p.deptid), userid, contactid: 0, requestor_id: 0, name: p.name ?? '', email: p.email ?? '', cc: '', c, date: sqlNow(),
      title: p.subject, message: p.message, status: 'Open', urgency: p.priority || 'Medium', admin: p.admin === 'true' ? 'API' : '', attachment: '',
      lastreply: sqlNow(), flag: 0, clientunread: 1, adminunread: '', service: p.serviceid ? `S${p.serviceid}` : '', editor: p.markdown === 'true' ? 'markdown' : 'plain',
    });
    return { result: 'success', id: String(id), tid, c };
  }
  if (action === 'AddTicketNote') {
    if (!p.message) return { result: 'error', message: 'Message is required' };
    const ticket = p.ticketid ? await db('tbltickets').where('id', Number(p.ticketid)).first('id') : null;
    if (!ticket) return { result: 'error', message: 'Ticket ID Not Found' };
    await db('tblticketnotes').insert({ ticketid: ticket.id, admin: 'API', date: sqlNow(), message: p.message, attachments: '', editor: p.markdown === 'true' ? 'markdown' : 'plain' });
    return { result: 'success' };
  }
  if (action === 'UpdateClientProduct') {
    const svc = p.serviceid ? await db('tblhosting').where('id', Number(p.serviceid)).first('id') : null;
    if (!svc) return { result: 'error', message: 'Service ID Not Found' };
    const change: Record<string, string> = {};
    for (const f of ['dedicatedip', 'assignedips', 'domain']) if (p[f] !== undefined) change[f] = p[f];
    if (Object.keys(change).length) await db('tblhosting').where('id', svc.id).update(change);
    return { result: 'success', serviceid: String(svc.id) };
  }
  if (action === 'SendEmail') {
    // WHMCS looks the template up by name, then renders it for the related id (a service for a
    // product template); an id it cannot find ends as the generic "Sending Failed".
    if (!p.messagename || !WHMCS_EMAIL_TEMPLATES.includes(p.messagename)) return { result: 'error', message: 'Email Template not found' };
    if (!p.id || !(await db('tblhosting').where('id', Number(p.id)).first('id'))) return { result: 'error', message: 'Sending Failed' };
    return { result: 'success' };
  }
  // Reads WHMCS's version only: what hostbridge doctor calls to prove the credentials.
  if (action === 'WhmcsDetails') return { result: 'success', whmcs: { version: '8.10.1', canonicalversion: '8.10.1-release.1' } };
  return { result: 'error', message: 'Command Not Found' };
}

export async function startWhmcsStandin(db: Knex, creds: { identifier: string; secret: string }, port = 0): Promise<WhmcsStandin> {
  const calls: WhmcsStandin['calls'] = [];
  const app = express();
  app.post('/includes/api.php', express.urlencoded({ extended: false }), async (req, res) => {
    const p = req.body as Record<string, string>;
    const { identifier, secret, action, ...rest } = p;
    if (identifier !== creds.identifier || secret !== creds.secret) {
      res.status(403).json({ result: 'error', message: 'Authentication Failed' });
      return;
    }
    calls.push({ action, params: rest });
    res.json(await answer(db, action, rest));
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/includes/api.php`,
    calls,
    stop: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
