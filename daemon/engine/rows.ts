// The rows the engine's operations pass between them: a task as read (TaskRow), a task a worker
// holds (Claim), a chain (ChainRow), an attempt's record; and the size limits of stored text.
export interface TaskRow {
  id: number;
  chain_id: number | null;
  step_no: number;
  service_id: number | null;
  operation: string;
  step: string;
  type: string;
  target: string | null;
  args: string | null;
  status: string;
  attempts: number;
  max_attempts: number | null;
  /** The steps it waits for (graph.ts); NULL in a chain that runs in sequence. */
  depends_on: string | null;
  owner: string | null;
  started_at: number | null;
}

/** A task this worker holds: the row as claimed, with the owner token that fences every later write. */
export interface Claim extends TaskRow {
  owner: string;
}

export interface ChainRow {
  id: number;
  service_id: number | null;
  operation: string;
  state: string;
  success_state: string | null;
  failure_state: string | null;
  step_count: number;
  created_at: number;
  started_at: number | null;
}

/** What an attempt leaves behind besides its outcome. */
export interface AttemptRecord {
  output: string;
  durationMs: number;
}

/** The columns of a task a worker needs to run it. */
export const TASK_COLUMNS = ['id', 'chain_id', 'step_no', 'service_id', 'operation', 'step', 'type', 'target', 'args', 'status', 'attempts', 'max_attempts', 'depends_on'] as const;

/** An attempt keeps the end of what it printed; errors are clipped before they are stored. */
export const MAX_OUTPUT = 256 * 1024;
export const MAX_ERROR = 8 * 1024;
