// The UI's only door to Sieve: the HTTP API on the same origin.

const TOKEN_KEY = 'sieve-token';

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string | null): void {
  if (t) localStorage.setItem(TOKEN_KEY, t);
  else localStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token();
  if (t) headers.authorization = `Bearer ${t}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j.message) message = j.message;
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(res.status, message);
  }
  return (await res.json()) as T;
}

export interface User { name: string; role: 'expert' | 'admin' }
export interface ModuleInfo {
  name: string;
  title: string;
  survey: string;
  kind: 'classifier' | 'anomaly';
  classNames: string[];
  positiveClass: number;
  queueStrategy: string;
  labels: Array<{ label: string; key: string }>;
  deployedVersion: number | null;
  retraining: boolean;
}
export interface QueueEntry { alertId: number; objectId: string; score: number; reason: string; modelVersion: number | null }
/** What blind labelling kept back until the label: the object's catalogue class and whether the label agrees with it. */
export interface LabelTruth { catalogueClass: string; truthLabel: string | null; sameLabel: boolean | null; sameClass: boolean | null }
export interface LabelRow { id: number; module: string; objectId: string; alertId: number; label: string; author: string; comment: string | null; createdAt: string; modelVersion: number | null; truth?: LabelTruth | null }
export interface Agreement { expert: string; compared: number; sameClass: number; sameLabel: number }
export interface SearchHit { id: number; objectId: string; candid: string | null; survey: string; jd: number; band: string; matched: string[] }
export interface Progress { today: number; total: number; perLabel: Record<string, number> }
export interface FitCurve { band: string; model: string; jd: number[]; fluxNanoJy: Array<number | null> }
export interface ModuleView {
  module: string;
  kind: string;
  passesCuts: boolean | null;
  features: Array<{ name: string; value: number | null; unit: string | null }>;
  fits: FitCurve[];
  modelVersion: number | null;
  /** A forest: p with its standard error over the trees and their votes. A network: p with dropout off, and the mean ± spread over its Monte-Carlo dropout passes. */
  probabilities?: Array<{ className: string; p: number; stdErr?: number; treeVotes?: number; mcMean?: number; spread?: number }>;
  mc?: { samples: number; bald: number; predictiveEntropy: number };
  refused?: string;
  anomaly?: { bands: Array<{ band: string; reads: string; score: number | null }>; final: number | null; wiring: string | null };
  /** The module's stored cut cannot run: no alert passes it. */
  cutError?: string;
  /** The module could not be shown for this alert (the others are). */
  error?: string;
}
// The JSON shapes of the API. They mirror engine/datasets types on purpose: the UI may not import them
// (it reaches the engine only through HTTP), so these are the contract as the browser receives it.
export interface AlertDetail {
  id: number;
  survey: string;
  objectId: string;
  candid: string | null;
  ra: number;
  dec: number;
  jd: number;
  /** The triggering detection's MJD (jd - 2400000.5). */
  mjd: number;
  band: string;
  /** The catalogue class, once the viewer's label is recorded (null before: blind labelling). */
  sourceLabel: string | null;
  /** The object's current labels: by experts ('person'), models, or catalogues such as Fink's TNS class ('catalog'). */
  labels?: Array<{ module: string; label: string; author: string; authorKind: 'person' | 'model' | 'catalog'; createdAt: string }>;
  context: Record<string, string | number | null>;
  extra: Record<string, string | number | boolean | null>;
  /** The unit of each context, extra and truth field that has one (MJD and JD for times). */
  units: Record<string, string>;
  /** Blind labelling: the truth this alert carries, its values only once the viewer has labelled it here. */
  truth: {
    revealed: boolean;
    fields: string[];
    values: Record<string, string | number | boolean | null> | null;
    hiddenLabels: number;
    verdicts: Array<{ module: string; yourLabel: string | null; truthLabel: string | null; sameLabel: boolean | null; sameClass: boolean | null }>;
  };
  links: Array<{ name: string; url: string }>;
  cutouts: Record<'science' | 'template' | 'difference', string | null>;
  lightCurve: {
    bands: string[];
    jd: number[];
    band: number[];
    detected: number[];
    mag: Array<number | null>;
    magErr: Array<number | null>;
    fluxNanoJy: Array<number | null>;
    fluxErrNanoJy: Array<number | null>;
    limitMag: Array<number | null>;
  };
  modules: ModuleView[];
}
export interface ModelRow {
  module: string;
  version: number;
  status: 'candidate' | 'deployed' | 'retired';
  modelType: string;
  metrics: Record<string, number>;
  nLabels: number;
  parentVersion: number | null;
  createdAt: string;
  provisional: boolean;
  gate: GateReport | null;
}
export interface Interval { value: number; low: number; high: number }
export interface GateReport {
  metric: string;
  heldOutObjects: Record<string, number>;
  minPerClass: number;
  tooSmall: boolean;
  challenger: Interval | null;
  champion: (Interval & { version: number }) | null;
  difference: Interval | null;
  decision: 'deploy' | 'deploy-provisional' | 'keep';
  /** held-out, or cross-validated over every labelled object when the held-out set is too small. */
  estimate?: 'held-out' | 'cross-validated';
  folds?: number;
  estimateObjects?: Record<string, number>;
  comparedObjects?: number;
  degenerate?: string | null;
  summary?: string;
  reason: string;
}
export interface ModuleSummary {
  name: string;
  title: string;
  survey: string;
  kind: string;
  revision: number | null;
  declaration: unknown;
  cuts: { expression: string | null; survey: string; alerts: number; passing: number; passRate: number | null };
  truth: string[];
  labels: { perLabel: Record<string, number>; objectsPerClass: Record<string, number>; objectsNotTrainedOn: number };
  versions: Array<{ version: number; status: string; currentRevision: boolean; provisional: boolean }>;
}
export interface ModuleModels {
  module: string;
  deployedVersion: number | null;
  retraining: boolean;
  versions: ModelRow[];
  deployments: Array<{ version: number; action: string; actor: string; reason: string | null; createdAt: string }>;
  learningCurve: Array<{ version: number; nLabels: number; metrics: Record<string, number> }>;
}
export interface ServerEvent { type: string; module: string; at: string; data: Record<string, unknown> }
