// Errors a caller caused, as HTTP answers: always {"error": "..."}, with "field" when one field of
// the body is to blame. Anything else is a 500 with no detail (the daemon log has it).
import { InputError } from '../common/errors.ts';
import { EnqueueError } from '../engine/chains.ts';
import { AdminError } from '../engine/admin.ts';

export function clientError(err: unknown): { status: number; body: { error: string; field?: string } } | null {
  if (err instanceof InputError) return { status: err.status, body: err.field ? { error: err.message, field: err.field } : { error: err.message } };
  if (err instanceof EnqueueError) return { status: 422, body: { error: err.message } };
  if (err instanceof AdminError) return { status: 409, body: { error: err.message } };
  return null;
}
