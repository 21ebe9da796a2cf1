// The one way the console reaches the edge: the /v1 API with the admin token (SPEC §4a).
// Failures become one of three plain situations the page can name.

/** The edge answered with an error body `{"error","message"}`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, from Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** No answer from the edge: network down, process stopped, a proxy with no upstream, a timeout. */
export class EdgeUnreachable extends Error {}

const TIMEOUT_MS = 10_000;

/** Failures go through here: a lost edge and lost state are banners, a refused token signs out. */
export type Report = (e: unknown) => void;

/** The request was cancelled by the page (a newer one replaced it): nothing to show or report. */
export class Aborted extends Error {}

/** A body sent as is with its own content type (CSV); any other body is sent as JSON. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly contentType: string,
  ) {}
}

export type Api = <T>(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal) => Promise<T>;

export function createApi(token: string): Api {
  return async <T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = body instanceof RawBody ? body.contentType : 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : body instanceof RawBody ? body.text : JSON.stringify(body),
        cache: 'no-store',
        signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]) : AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      if (signal?.aborted) throw new Aborted();
      throw new EdgeUnreachable(e instanceof Error ? e.message : String(e));
    }
    const payload: unknown = await res.json().catch(() => undefined);
    if (signal?.aborted) throw new Aborted();
    if (res.ok) return payload as T;
    const err = payload as { error?: unknown; message?: unknown } | undefined;
    // A reverse proxy whose edge is gone answers 502/503/504 without the edge's error body.
    if (typeof err?.error !== 'string' && res.status >= 502) throw new EdgeUnreachable(`HTTP ${res.status}`);
    const retry = Number(res.headers.get('retry-after'));
    throw new ApiError(
      res.status,
      typeof err?.error === 'string' ? err.error : `http_${res.status}`,
      typeof err?.message === 'string' ? err.message : res.statusText,
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
    );
  };
}

/** Path segment: a number as typed is never allowed to reach another route. */
export const seg = (s: string) => encodeURIComponent(s);
