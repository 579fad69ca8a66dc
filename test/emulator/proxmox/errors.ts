// Proxmox's error model: an exception carries an HTTP status, a one-line message (which pveproxy
// also puts in the status line's reason phrase) and, for parameter problems, a per-field map.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

/** A runtime failure (Perl `die "...\n"` inside an API method): always 500. */
export function die(message: string): never {
  throw new ApiError(500, message);
}

/** PVE::Exception::raise_param_exc: 400 with the per-parameter messages. */
export function paramError(errors: Record<string, string>): never {
  throw new ApiError(400, 'Parameter verification failed.', errors);
}

/** A worker failure: the task ends with this text as its exit status. */
export class TaskFailure extends Error {}
