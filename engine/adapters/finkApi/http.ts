import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { stringifyJsonExact } from '../../../datasets/index.ts';
import { parseRetryAfter } from './retryAfter.ts';

/**
 * POST requests to a Fink API with the pace, patience and limits of `sieve pull fink`: requests spaced by
 * `rate`; every request given up after `timeoutSeconds` without a byte (headers or body); a 429 or 503 waits
 * for its Retry-After when that is at most `maxWaitSeconds` (a longer wait stops the pull: the server asks us
 * to come back later), other 5xx answers and network failures are retried `retries` times with back-off; no
 * wait and no request runs past the overall deadline. Every failure is a PullError naming the URL and the cause.
 *
 * The retry loop is our own: its waits come from the answer (Retry-After), the deadline and the pace, which
 * retry helpers (p-retry, async-retry) do not take; they compute a delay from the attempt number only. Requests
 * go through node:http(s), not fetch: fetch refuses the ports of its "bad ports" list (9, 6000, ...) before
 * connecting, and reports every failure as "fetch failed".
 */
export class PullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullError';
  }
}

export interface HttpOptions {
  /** Requests per second at most. */
  rate: number;
  /** Attempts after the first, on a network failure, a timeout, a 429 or a 5xx. */
  retries: number;
  /** A request that sends nothing (headers or body) for this long fails. */
  timeoutSeconds: number;
  /** The whole pull stops when it would run past this (seconds from the start); Infinity: no deadline. */
  deadlineSeconds: number;
  /** The longest Retry-After obeyed; a longer one stops the pull. */
  maxWaitSeconds: number;
  log: (line: string) => void;
  transport: Transport;
  sleep: (ms: number) => Promise<void>;
}

/** An answer's status, headers (names in lower case) and body. */
export interface HttpAnswer {
  status: number;
  statusText: string;
  header(name: string): string | null;
  body: AsyncIterable<Uint8Array>;
}

/** Sends one POST; rejects with the system error (code ECONNREFUSED, ...) when no answer comes. */
export type Transport = (url: URL, body: string, headers: Record<string, string>, signal: AbortSignal) => Promise<HttpAnswer>;

/** The transport of node:http and node:https. */
export const nodeTransport: Transport = (url, body, headers, signal) => new Promise<HttpAnswer>((resolve, reject) => {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': Buffer.byteLength(body) }, signal }, (res: IncomingMessage) => {
    resolve({
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      header: (name) => {
        const v = res.headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
      body: res,
    });
  });
  req.on('error', reject);
  req.end(body);
});

/** What reads a 200 answer: its body as chunks and its headers. Throw a PullError for a bad answer. */
export type AnswerReader<T> = (body: AsyncIterable<Uint8Array>, header: (name: string) => string | null) => Promise<T>;

/** Why a connection failed, in words (undici reports the system's error code as the cause). */
const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'host name lookup failed (try again later)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed by the server',
  ECONNABORTED: 'connection aborted',
  ERR_STREAM_PREMATURE_CLOSE: 'connection closed by the server before the answer was complete',
  EPROTO: 'TLS handshake failed',
};

function networkCause(e: unknown): string {
  let c: unknown = e;
  for (let depth = 0; depth < 4 && c instanceof Error && c.cause !== undefined; depth++) c = c.cause;
  const err = c as { code?: string; message?: string };
  if (err.code && NETWORK_CAUSES[err.code]) return NETWORK_CAUSES[err.code];
  return err.message ? `${err.message}${err.code ? ` (${err.code})` : ''}` : String(c);
}

/** Thrown inside an attempt: a retry may help (network, timeout, 429, 5xx) or not (the deadline). */
class AttemptFailed extends Error {
  constructor(message: string, readonly retryable: boolean, readonly waitSeconds: number | null = null) {
    super(message);
  }
}

/** One line of an error body: collapsed white space, at most 200 characters. */
function excerpt(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}...` : one || '(empty body)';
}

export class FinkHttp {
  private readonly startedMs = Date.now();
  private lastRequestMs = 0;
  readonly base: URL;

  constructor(baseUrl: string, private readonly o: HttpOptions) {
    this.base = new URL(baseUrl);
  }

  /** Milliseconds left before the deadline (Infinity without one). */
  private remainingMs(): number {
    return this.startedMs + this.o.deadlineSeconds * 1000 - Date.now();
  }

  private async wait(ms: number, why: string, url: string): Promise<void> {
    if (ms <= 0) return;
    if (ms > this.remainingMs()) throw new PullError(`POST ${url}: ${why}: waiting ${Math.ceil(ms / 1000)} s would pass the deadline of ${this.o.deadlineSeconds} s`);
    await this.o.sleep(ms);
  }

  /** POSTs `body` (JSON) to `route` and reads the 200 answer with `read`, retrying as the class says. */
  async post<T>(route: string, body: Record<string, unknown>, read: AnswerReader<T>): Promise<T> {
    const url = new URL(route.replace(/^\//, ''), this.base.href.endsWith('/') ? this.base : `${this.base.href}/`).href;
    const maxAttempts = this.o.retries + 1;
    for (let attempt = 1; ; attempt++) {
      await this.wait(this.lastRequestMs + 1000 / this.o.rate - Date.now(), 'pacing', url);
      if (this.remainingMs() <= 0) throw new PullError(`POST ${url}: the deadline of ${this.o.deadlineSeconds} s has passed`);
      this.lastRequestMs = Date.now();
      try {
        return await this.attempt(url, body, read);
      } catch (e) {
        if (!(e instanceof AttemptFailed)) throw new PullError(`POST ${url}: ${(e as Error).message}`);
        if (!e.retryable) throw new PullError(`POST ${url}: ${e.message}`);
        if (attempt >= maxAttempts) throw new PullError(`POST ${url}: ${e.message} (${attempt} attempt${attempt > 1 ? 's' : ''})`);
        const backoffSeconds = Math.min(this.o.maxWaitSeconds, 2 ** (attempt - 1));
        const seconds = e.waitSeconds ?? backoffSeconds;
        this.o.log(`pull: ${url}: ${e.message}; retry ${attempt} of ${this.o.retries} in ${seconds} s`);
        await this.wait(seconds * 1000, e.message, url);
      }
    }
  }

  private async attempt<T>(url: string, body: Record<string, unknown>, read: AnswerReader<T>): Promise<T> {
    const controller = new AbortController();
    const timeoutMs = this.o.timeoutSeconds * 1000;
    // one timer, re-armed by every chunk: at most the per-request timeout, never past the deadline
    let why = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      const left = this.remainingMs();
      const ms = Math.max(0, Math.min(timeoutMs, left));
      timer = setTimeout(() => {
        why = ms < timeoutMs ? 'deadline' : 'timeout';
        controller.abort();
      }, ms);
    };
    const stopped = (e: unknown): AttemptFailed => {
      if (why === 'deadline') return new AttemptFailed(`the deadline of ${this.o.deadlineSeconds} s has passed`, false);
      if (why === 'timeout') return new AttemptFailed(`no answer for ${this.o.timeoutSeconds} s (timeout)`, true);
      return new AttemptFailed(`cannot reach ${this.base.host}: ${networkCause(e)}`, true);
    };
    arm();
    try {
      let res: HttpAnswer;
      try {
        res = await this.o.transport(new URL(url), stringifyJsonExact(body), { 'content-type': 'application/json', accept: 'application/json, image/png, application/octet-stream' }, controller.signal);
      } catch (e) {
        throw stopped(e);
      }
      arm();
      const chunks = async function* (): AsyncIterable<Uint8Array> {
        try {
          for await (const chunk of res.body) {
            arm();
            yield chunk;
          }
        } catch (e) {
          throw stopped(e);
        }
      };
      if (res.status === 200) return await read(chunks(), res.header);
      const text = await readText(chunks(), 64 * 1024);
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`;
      if (res.status === 429 || res.status === 503) {
        const header = res.header('retry-after');
        if (header !== null) {
          const ra = parseRetryAfter(header, Date.now());
          if ('unreadable' in ra) this.o.log(`pull: ${url}: ${status}: ${ra.unreadable}; waiting as without it`);
          else if (ra.seconds > this.o.maxWaitSeconds) {
            throw new AttemptFailed(`${status}: the server asks to wait ${ra.seconds} s (Retry-After: ${header.trim()}), more than --max-wait ${this.o.maxWaitSeconds} s; run the same command later`, false);
          } else throw new AttemptFailed(`${status} (Retry-After: ${header.trim()})`, true, ra.seconds);
        }
        throw new AttemptFailed(text.trim() ? `${status}: ${excerpt(text)}` : status, true);
      }
      throw new AttemptFailed(`${status}: ${excerpt(text)}`, res.status >= 500);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A whole (small) answer body as text, refused past `maxBytes`. */
export async function readText(body: AsyncIterable<Uint8Array>, maxBytes: number): Promise<string> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body) {
    n += chunk.byteLength;
    if (n > maxBytes) {
      // an error body is shown as an excerpt only: the rest is not needed
      parts.push(chunk.subarray(0, Math.max(0, maxBytes - (n - chunk.byteLength))));
      break;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}
