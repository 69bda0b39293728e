import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { sharedPath } from '../shared.ts';

/**
 * A local stand-in for Fink's REST APIs that answers only with the bodies of ../shared/data/fink/api (ZTF) and
 * api_lsst (LSST): a POST whose route and JSON body equal a `X.request.json` gets `X`'s bytes, with the status
 * and Content-Type of api_lsst/manifest.json (ZTF: 200, application/json, api/README.md). A request that
 * matches no body is recorded as unmatched and answered 404, except a cutouts request for a diaSource without
 * a captured body, which gets what the LSST API answers for a diaSource it has no cutouts of: HTTP 200 with an
 * empty image/png (api_lsst/README.md point 13).
 */
export interface SentRequest {
  route: string;
  body: unknown;
  matched: string | null;
}

interface Body {
  file: string;
  route: string;
  request: unknown;
  status: number;
  contentType: string;
  bytes: Buffer;
}

function bodiesOf(dir: 'api' | 'api_lsst'): Body[] {
  const root = sharedPath('fink', dir);
  const manifest = dir === 'api_lsst'
    ? new Map((JSON.parse(readFileSync(path.join(root, 'manifest.json'), 'utf8')) as Array<{ file: string; request: string; path: string; status: number; content_type: string }>).map((m) => [m.request, m]))
    : null;
  return readdirSync(root).filter((f) => f.endsWith('.request.json')).map((requestFile) => {
    const m = manifest?.get(requestFile);
    const file = m ? m.file : requestFile.replace('.request.json', '.json');
    return {
      file,
      route: m ? m.path : `/api/v1/${requestFile.split('_')[0]}`,
      request: JSON.parse(readFileSync(path.join(root, requestFile), 'utf8')),
      status: m ? m.status : 200,
      contentType: m ? m.content_type : 'application/json',
      bytes: readFileSync(path.join(root, file)),
    };
  });
}

export const ZTF_BODIES = () => bodiesOf('api');
export const LSST_BODIES = () => bodiesOf('api_lsst');

export interface FinkApiStub {
  base: string;
  sent: SentRequest[];
  close: () => Promise<void>;
}

/** A local server; `handler` answers instead of the bodies when it returns true (a misbehaving server). */
export async function startFinkApi(bodies: Body[], handler?: (req: IncomingMessage, res: ServerResponse, body: string) => boolean): Promise<FinkApiStub> {
  const sent: SentRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      const text = Buffer.concat(parts).toString('utf8');
      if (handler?.(req, res, text)) return;
      let body: unknown = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      const hit = bodies.find((b) => b.route === req.url && isDeepStrictEqual(b.request, body));
      sent.push({ route: req.url ?? '', body, matched: hit?.file ?? null });
      if (hit) {
        res.writeHead(hit.status, { 'content-type': hit.contentType, 'content-length': hit.bytes.length });
        res.end(hit.bytes);
      } else if (req.url === '/api/v1/cutouts' && bodies.some((b) => b.route === '/api/v1/cutouts')) {
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': 0 });
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('no captured body for this request');
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    sent,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
