// What the API's framing and routes need from the daemon (a file of its own so the routes and the
// framing both import it without importing each other): what the pages need, the same daemon's
// handles, plus the store of signature nonces.
import type { PageDeps } from '../pages/deps.ts';
import type { NonceStore } from './signature.ts';

export interface ApiDeps extends PageDeps {
  nonces?: NonceStore;
  /** The console's public base URL (POST /v1/services/{id}/console); null or absent: the console listener is off. */
  consoleUrl?: string | null;
}
