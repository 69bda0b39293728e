/**
 * The page's address: which view, which module, which alert. Every page names its module, so that a label
 * always goes to the module the page shows and a link opens the same context: `#/queue/<module>`,
 * `#/models/<module>`, `#/alert/<id>?module=<module>` (an alert page without a module asks for one).
 */
export interface Route {
  view: 'queue' | 'models' | 'alert';
  module: string | null;
  alertId: number | null;
}

const MODULE = '[a-z][a-z0-9-]{1,47}';

/** The route of a hash, or null when the hash is not one (then the page keeps what it shows). */
export function parseHash(hash: string): Route | null {
  const a = new RegExp(`^#/alert/(\\d{1,15})(?:\\?module=(${MODULE}))?$`).exec(hash);
  if (a) return { view: 'alert', alertId: Number(a[1]), module: a[2] ?? null };
  const v = new RegExp(`^#/(queue|models)(?:/(${MODULE})?)?$`).exec(hash);
  if (v) return { view: v[1] as 'queue' | 'models', module: v[2] ?? null, alertId: null };
  return null;
}

export function hashOf(r: Route): string {
  if (r.view === 'alert') return `#/alert/${r.alertId}${r.module ? `?module=${r.module}` : ''}`;
  return `#/${r.view}/${r.module ?? ''}`;
}
