import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { REPO_ROOT } from '../shared.ts';

/** Debian's chromium (apt-get install chromium), with the flags this machine's closed network needs. */
export function chromiumPath(): string {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium not found: the browser tests need Debian\'s chromium (apt-get install -y chromium; .ci/run installs it)');
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface DemoProcess {
  child: ChildProcess;
  url: string;
  adminToken: string;
  db: string;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Runs `sieve demo --port P --db FILE` as a person would and waits for the URL, the token and /api/health. */
export async function startDemo(args: string[] = []): Promise<DemoProcess> {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'sieve-ui-')), 'demo.db');
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'sieve.js'), 'demo', '--db', db, '--port', String(port), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 150_000;
  let token: string | null = null;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sieve demo exited with ${child.exitCode}:\n${out}`);
    token = /admin token for demo-admin: (\S+)/.exec(out)?.[1] ?? null;
    if (token) {
      try {
        if ((await fetch(`http://localhost:${port}/api/health`)).status === 200) break;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!token) throw new Error(`sieve demo printed no admin token in time:\n${out}`);
  const url = /Sieve workbench: (\S+)/.exec(out)![1].replace(/\/$/, '');
  return {
    child, url, adminToken: token, db, output: () => out,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    }),
  };
}

/** Where the browser tests write their screenshots (not kept in git). */
export const ARTIFACTS = path.join(REPO_ROOT, 'test', 'artifacts');

/**
 * One demo server and one chromium for a test file: started before its tests, stopped after them (the demo
 * must exit 0). The returned object's fields are set once beforeAll has run.
 */
export function demoAndBrowser(args: string[]): { demo: DemoProcess; browser: Browser } {
  const env = {} as { demo: DemoProcess; browser: Browser };
  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    env.demo = await startDemo(args);
    env.browser = await launchChromium();
  }, 200_000);
  afterAll(async () => {
    await env.browser?.close();
    if (env.demo) expect(await env.demo.stop()).toBe(0);
  });
  return env;
}
