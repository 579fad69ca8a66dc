// Ticket bodies, rendered from handlebars templates in templates/tickets. They are plain text
// for the WHMCS ticket system; values in them are already masked by the engine.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../templates/tickets');
const cache = new Map<string, HandlebarsTemplateDelegate>();

export interface TicketFacts {
  operation: string;
  step: string;
  taskId: number;
  type: string;
  /** Where the task ran: the engine's target ("server:6"), named (the server's name and address) before rendering. */
  target: string | null;
  attempts: number;
  error: string;
  terminal: boolean;
  whmcsServiceId: number | null;
  mode: string | null;
}

export function renderTicket(name: 'task-failed' | 'task-failed-again', facts: TicketFacts): string {
  let t = cache.get(name);
  if (!t) {
    t = Handlebars.compile(fs.readFileSync(path.join(TEMPLATE_DIR, `${name}.hbs`), 'utf8'), { noEscape: true, strict: false });
    cache.set(name, t);
  }
  return t(facts).trim() + '\n';
}

export function ticketSubject(facts: TicketFacts): string {
  const what = facts.whmcsServiceId ? `service #${facts.whmcsServiceId}` : `${facts.type}${facts.target ? ` on ${facts.target}` : ''}`;
  return `[hostbridge] ${facts.operation} failed for ${what}`.slice(0, 255);
}
