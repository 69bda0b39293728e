#!/usr/bin/env node
// The installed `sieve` command: the CLI is TypeScript, run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../engine/cli/main.ts');
