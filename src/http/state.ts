// Redis failures seen by the HTTP API: counted once, answered 503 `state_unavailable`.
import type { Metrics } from '../metrics.js';
import { HttpError } from './errors.js';

export type StateCall = <T>(work: () => Promise<T>) => Promise<T>;

/** Runs one piece of state work; any rejection from the state layer is a Redis failure. */
export function stateCall(metrics: Metrics): StateCall {
  return async (work) => {
    try {
      return await work();
    } catch (e) {
      metrics.redisErrorsTotal.inc();
      throw new HttpError('state_unavailable', undefined, {}, { cause: e });
    }
  };
}
