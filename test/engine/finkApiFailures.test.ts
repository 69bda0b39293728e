import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PullError, Store, parseRetryAfter, pullFink, type PullOptions, type PullQuery } from '../../engine/index.ts';
import { sharedPath } from '../shared.ts';
import { ZTF_BODIES, startFinkApi, type FinkApiStub } from './finkApiServer.ts';

/**
 * `pull fink` against servers that misbehave (issue 23, point 6): a Retry-After of a day, one in the far future,
 * one that is no Retry-After, a server that never answers or stops in the middle, a 600 MB answer, a refused
 * connection, error statuses. Each ends in bounded time with one line naming the URL and the cause.
 */
const tmp = mkdtempSync(path.join(tmpdir(), 'sieve-pull-fail-'));
let n = 0;
const store = () => Store.create(path.join(tmp, `s${++n}.db`));
const object: PullQuery = { kind: 'objects', objectIds: ['ZTF18aaxyyjv'] };
const servers: Array<{ close: () => Promise<void> }> = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

/** The captured bodies, after `misbehave` has answered the first requests its own way (it returns false to let the body answer). */
async function api(misbehave: (attempt: number, res: import('node:http').ServerResponse) => boolean): Promise<FinkApiStub> {
  let attempt = 0;
  const s = await startFinkApi(ZTF_BODIES(), (_req, res) => misbehave(++attempt, res));
  servers.push(s);
  return s;
}

/** A TCP server that accepts connections and then does `onSocket` (e.g. nothing at all). */
async function tcp(onSocket: (s: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({ close: () => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }) });
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function pullError(q: PullQuery, o: PullOptions): Promise<string> {
  const e = await pullFink(store(), q, { rate: 1000, log: () => {}, ...o }).then(() => null, (err: Error) => err);
  expect(e).toBeInstanceOf(PullError);
  return (e as Error).message;
}

describe('Retry-After read strictly', () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  it('takes seconds and the three HTTP-date forms, a past date as 0', () => {
    expect(parseRetryAfter('120', now)).toEqual({ seconds: 120 });
    expect(parseRetryAfter(' 0 ', now)).toEqual({ seconds: 0 });
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toEqual({ seconds: 90 });
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:10 GMT', now)).toEqual({ seconds: 10 });
    expect(parseRetryAfter('Thu Jan  1 00:00:05 2026', now)).toEqual({ seconds: 5 });
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toEqual({ seconds: 0 });
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now)).toEqual({ seconds: 2335219200 });
  });
  it('refuses everything else, naming it', () => {
    for (const v of ['abc', '1.5', '-1', '', '1e3', 'Thu, 01 Jan 2026 00:01:30 PST', 'Thu, 31 Feb 2026 00:00:00 GMT', '2026-01-01T00:00:00Z', 'Thu, 01 Jan 2026 25:00:00 GMT']) {
      const r = parseRetryAfter(v, now);
      expect(r, v).toEqual({ unreadable: `Retry-After '${v}' is neither seconds nor an HTTP date` });
    }
  });
});

describe('pull fink against a misbehaving server', () => {
  it('a Retry-After of a day is not obeyed: the pull stops at once with the wait it was asked (--max-wait 300 s)', async () => {
    const sleeps: number[] = [];
    const s = await api((_k, res) => {
      res.writeHead(429, { 'retry-after': '86400' }).end();
      return true;
    });
    const message = await pullError(object, { baseUrl: s.base, sleep: async (ms) => void sleeps.push(ms) });
    expect(message).toBe(`object:ZTF18aaxyyjv: POST ${s.base}/api/v1/objects: HTTP 429 Too Many Requests: the server asks to wait 86400 s (Retry-After: 86400), more than --max-wait 300 s; run the same command later; 0 page(s) stored before it (the same command resumes after them)`);
    expect(sleeps).toEqual([]);
  });

  it('a Retry-After date in 2100 ends in a second, with no timer overflow', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const s = await api((_k, res) => {
      res.writeHead(429, { 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' }).end();
      return true;
    });
    const t0 = Date.now();
    const message = await pullError(object, { baseUrl: s.base });
    process.off('warning', onWarning);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(message).toMatch(/HTTP 429 Too Many Requests: the server asks to wait \d{10} s \(Retry-After: Fri, 01 Jan 2100 00:00:00 GMT\), more than --max-wait 300 s/);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('a Retry-After that is not one is named and ignored: the usual back-off, then the page', async () => {
    const sleeps: number[] = [];
    const lines: string[] = [];
    const s = await api((k, res) => {
      if (k > 1) return false;
      res.writeHead(429, { 'retry-after': 'abc' }).end();
      return true;
    });
    const r = await pullFink(store(), object, { baseUrl: s.base, rate: 1000, sleep: async (ms) => void sleeps.push(ms), log: (l) => lines.push(l) });
    expect(r).toMatchObject({ pages: 1, alerts: 2 });
    expect(lines).toContain(`pull: ${s.base}/api/v1/objects: HTTP 429 Too Many Requests: Retry-After 'abc' is neither seconds nor an HTTP date; waiting as without it`);
    expect(lines.some((l) => /NaN/.test(l))).toBe(false);
    expect(sleeps).toEqual([1000]);
  });

  it('a Retry-After within the limit is obeyed, in seconds (429) or as a date (503)', async () => {
    const sleeps: number[] = [];
    const soon = new Date(Date.now() + 3000).toUTCString();
    const s = await api((k, res) => {
      if (k > 2) return false;
      if (k === 1) res.writeHead(429, { 'retry-after': '7' }).end();
      else res.writeHead(503, { 'retry-after': soon }).end();
      return true;
    });
    await pullFink(store(), object, { baseUrl: s.base, rate: 1000, log: () => {}, sleep: async (ms) => void sleeps.push(ms) });
    expect(sleeps[0]).toBe(7000);
    expect(sleeps[1]).toBeGreaterThanOrEqual(1000);
    expect(sleeps[1]).toBeLessThanOrEqual(4000);
  });

  it('a server that never answers: each request given up after --timeout, the pull after its retries, naming the URL', async () => {
    const base = await tcp(() => {});
    const t0 = Date.now();
    const message = await pullError(object, { baseUrl: base, timeoutSeconds: 0.3, retries: 1, sleep: async () => {} });
    expect(message).toBe(`object:ZTF18aaxyyjv: POST ${base}/api/v1/objects: no answer for 0.3 s (timeout) (2 attempts); 0 page(s) stored before it (the same command resumes after them)`);
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 20_000);

  it('a server that stops in the middle of its answer times out the same way', async () => {
    const base = await tcp((s) => {
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n10\r\n[{"i:objectId":"\r\n'));
    });
    const message = await pullError(object, { baseUrl: base, timeoutSeconds: 0.3, retries: 0 });
    expect(message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/objects: no answer for 0\.3 s \(timeout\) \(1 attempt\)/);
  }, 20_000);

  it('the overall deadline stops a pull whose server says nothing, whatever the per-request timeout', async () => {
    const base = await tcp(() => {});
    const t0 = Date.now();
    const message = await pullError(object, { baseUrl: base, timeoutSeconds: 30, deadlineSeconds: 0.5 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(message).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/objects: the deadline of 0\.5 s has passed/);
  }, 20_000);

  it('a connection cut in the middle of the answer is retried', async () => {
    let k = 0;
    const body = readFileSync(sharedPath('fink', 'api', 'objects_ZTF18aaxyyjv.json'));
    const base = await tcp((s) => {
      s.once('data', () => {
        k++;
        s.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n`);
        if (k === 1) s.end(body.subarray(0, 1000), () => s.destroy());
        else s.end(body);
      });
    });
    const lines: string[] = [];
    const r = await pullFink(store(), object, { baseUrl: base, rate: 1000, sleep: async () => {}, log: (l) => lines.push(l) });
    expect(r).toMatchObject({ pages: 1, alerts: 2 });
    expect(lines[0]).toMatch(/objects: cannot reach 127\.0\.0\.1:\d+: .+; retry 1 of 3 in 1 s/);
  });

  it('a refused connection names the host and the cause', async () => {
    const message = await pullError(object, { baseUrl: 'http://127.0.0.1:9', retries: 0 });
    expect(message).toBe('object:ZTF18aaxyyjv: POST http://127.0.0.1:9/api/v1/objects: cannot reach 127.0.0.1:9: connection refused (1 attempt); 0 page(s) stored before it (the same command resumes after them)');
  });

  it('an error status is reported with an excerpt of its body; a 4xx is not retried, a 5xx is', async () => {
    // the body fink-object-api answers a request without objectId (api/README.md point 10)
    const refusal = String.raw`{'status': 'error', 'text': 'A value for ${'`'}objectId${'`'} is required. See https://api.ztf.fink-portal.org \n'}`;
    let asked = 0;
    const s = await api((_k, res) => {
      asked++;
      res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' }).end(refusal);
      return true;
    });
    expect(await pullError(object, { baseUrl: s.base })).toContain(`POST ${s.base}/api/v1/objects: HTTP 400 Bad Request: ${refusal};`);
    expect(asked).toBe(1);
    const sleeps: number[] = [];
    const down = await api((_k, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' }).end(`down for maintenance ${'.'.repeat(500)}`);
      return true;
    });
    const message = await pullError(object, { baseUrl: down.base, retries: 2, sleep: async (ms) => void sleeps.push(ms) });
    expect(message).toMatch(/HTTP 503 Service Unavailable: down for maintenance \.{179}\.\.\. \(3 attempts\)/);
    expect(sleeps).toEqual([1000, 2000]);
  });

  it('an answer that is not a list of rows stores nothing and says so', async () => {
    const s = await api((k, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(k === 1 ? '<html>maintenance</html>' : '{"status": "error"}');
      return true;
    });
    expect(await pullError(object, { baseUrl: s.base })).toMatch(/objects: the answer is not a JSON list of rows: Unexpected "<"/);
    expect(await pullError(object, { baseUrl: s.base })).toMatch(/objects: the answer is not a JSON list of rows: the answer is a JSON object, not a list/);
  });

  it('a 600 MB answer (a captured page with 600 MB of JSON white space between its rows) is read as a stream', async () => {
    const text = readFileSync(sharedPath('fink', 'api', 'latests_Early_SN_Ia_candidate_2021-11-01_2021-12-01.json'), 'utf8');
    const cut = text.indexOf('},{') + 2;
    const spaces = Buffer.alloc(1 << 20, 0x20);
    const total = 600;
    const s = await api((_k, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write(text.slice(0, cut));
      let sent = 0;
      const more = () => {
        while (sent < total) {
          sent++;
          if (!res.write(spaces)) return void res.once('drain', more);
        }
        res.end(text.slice(cut));
      };
      more();
      return true;
    });
    const r = await pullFink(store(), { kind: 'latests', className: 'Early SN Ia candidate', start: '2021-11-01', stop: '2021-12-01', n: 10, windowDays: 30 }, { baseUrl: s.base, rate: 1000, log: () => {} });
    expect(r).toMatchObject({ pages: 1, alerts: 2, inserted: 2 });
    expect(total * spaces.length).toBeGreaterThan(0x1fffffe8);
  }, 120_000);
});
