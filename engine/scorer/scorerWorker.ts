import { parentPort, workerData } from 'node:worker_threads';
import { processUnit } from './processUnit.ts';
import { loadModuleVersion, type LoadedModule, type ModuleVersion, type ScoreOptions } from './score.ts';
import { unpackMessages, type PackedMessages } from './packUnit.ts';
import type { OutputFormat, WorkUnit } from './units.ts';

/**
 * A scorer thread: keeps the module versions it was last told about (loaded once per version) and scores
 * the units it is sent with them. Version messages and tasks arrive in order on one port, so a task is
 * always scored with the versions in force when it was dispatched.
 */
const { format, options } = workerData as { format: OutputFormat; options: ScoreOptions };
const cache = new Map<string, LoadedModule>();
let modules: LoadedModule[] = [];

parentPort!.on('message', (m: { type: 'versions'; versions: ModuleVersion[] } | { type: 'task'; id: number; unit: WorkUnit | PackedMessages }) => {
  if (m.type === 'versions') {
    modules = m.versions.map((v) => {
      const key = `${v.module}@${v.version}`;
      let l = cache.get(key);
      if (!l) cache.set(key, (l = loadModuleVersion(v)));
      return l;
    });
    return;
  }
  const unit = m.unit.kind === 'packed-messages' ? unpackMessages(m.unit) : m.unit;
  // the packed buffer goes back to the main thread for its next unit once this one is scored: what the unit
  // decoded to holds copies (strings, numbers, copied bytes), never views into it
  const spare = m.unit.kind === 'packed-messages' ? m.unit.data.buffer as ArrayBuffer : null;
  const reply = (msg: object) => (spare ? parentPort!.postMessage({ ...msg, spare }, [spare]) : parentPort!.postMessage(msg));
  processUnit(unit, modules, format, options).then(
    (r) => reply({ type: 'done', id: m.id, result: r }),
    (e: Error) => reply({ type: 'failed', id: m.id, error: e.stack ?? e.message }),
  );
});
