// Which Redis failures are the connection's (Redis unreachable, failing over, or not yet serving the
// slot) and worth a retry, and which are Redis's answer (a script error, a wrong type) that a retry
// would only repeat. ioredis reports the first kind by message, by socket code, or as a reply
// whose first word names a cluster/replication state.

/** Replies of a Redis that is failing over, loading, or not (yet) the master of the slot. */
const TRANSIENT_REPLIES = new Set(['CLUSTERDOWN', 'TRYAGAIN', 'MOVED', 'ASK', 'READONLY', 'LOADING', 'MASTERDOWN', 'NOREPLICAS', 'BUSY']);

/** ioredis's own messages when it has no connection to send on, or gave up on one. */
const CLIENT_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  "isn't ready and enableOfflineQueue",
  'Command timed out',
  'Too many Cluster redirections',
  'Failed to refresh slots cache',
  'None of startup nodes is available',
  'Reached the max retries per request limit',
  'All sentinels are unreachable',
  'Cluster is disconnected',
  'not ready after', // redisReady: a connection that did not come up in time
];

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && SOCKET_CODES.has(code)) return true;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'ClusterAllFailedError') return true;
  const firstWord = err.message.split(' ', 1)[0] ?? '';
  if (TRANSIENT_REPLIES.has(firstWord)) return true;
  return CLIENT_MESSAGES.some((m) => err.message.includes(m));
}
