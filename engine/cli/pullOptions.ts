import { FINK_API_HOSTS, MAX_CONE_RADIUS_ARCSEC, type CutoutChoice, type PullQuery, type PullSurvey } from '../adapters/finkApi/types.ts';
import { UsageError } from './options.ts';

/** `sieve pull fink` as given on the command line. */
export interface PullFlags {
  survey: string;
  db: string;
  class?: string;
  start?: string;
  stop?: string;
  n: number;
  windowDays: number;
  object?: string[];
  cone?: string;
  baseUrl?: string;
  rate: number;
  retries: number;
  timeout: number;
  deadline?: number;
  maxWait: number;
  cutouts: string;
}

/** What a checked command line asks: the query and the client's settings. */
export interface PullCall {
  query: PullQuery;
  survey: PullSurvey;
  baseUrl: string;
  cutouts: CutoutChoice;
}

const ZTF_OBJECT_ID = /^ZTF\d{2}[a-z]{7}$/;
const MAX_INT64 = 2n ** 63n - 1n;

function day(option: string, v: string | undefined): number {
  const t = v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(`${v}T00:00:00Z`) : NaN;
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== v) throw new UsageError(`${option} ${v ?? '(missing)'}: --class needs --start and --stop as days, YYYY-MM-DD`);
  return t;
}

/** Every option checked before the store is opened or a request sent (usage errors: exit status 2). */
export function checkPullFlags(o: PullFlags): PullCall {
  // --survey and --cutouts are checked by commander (their choices)
  const survey = o.survey as PullSurvey;
  const cutouts = o.cutouts as CutoutChoice;
  const kinds = [o.class !== undefined, o.object !== undefined, o.cone !== undefined].filter(Boolean).length;
  if (kinds !== 1) throw new UsageError('give one query: --class with --start and --stop (ZTF), --object IDS, or --cone RA,DEC,RADIUS');
  if (!(o.rate > 0)) throw new UsageError(`--rate ${o.rate}: must be above 0 requests per second`);
  if (!(o.timeout > 0 && o.timeout <= 3600)) throw new UsageError(`--timeout ${o.timeout}: seconds in (0, 3600]`);
  if (o.deadline !== undefined && !(o.deadline > 0)) throw new UsageError(`--deadline ${o.deadline}: seconds above 0`);
  if (!(o.maxWait >= 0 && o.maxWait <= 86400)) throw new UsageError(`--max-wait ${o.maxWait}: seconds in [0, 86400]`);
  const baseUrl = o.baseUrl ?? FINK_API_HOSTS[survey];
  let url: URL | null = null;
  try {
    url = new URL(baseUrl);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new UsageError(`--base-url ${baseUrl}: not an http(s) URL`);
  let query: PullQuery;
  if (o.class !== undefined) {
    if (survey === 'lsst') throw new UsageError("--class: the LSST API has no latests route; pull Rubin alerts with --object or --cone");
    if (!o.class.trim()) throw new UsageError('--class: an empty class name');
    const start = day('--start', o.start);
    const stop = day('--stop', o.stop);
    if (!(start < stop)) throw new UsageError(`--start ${o.start} is not before --stop ${o.stop}`);
    query = { kind: 'latests', className: o.class, start: o.start!, stop: o.stop!, n: o.n, windowDays: o.windowDays };
  } else if (o.object !== undefined) {
    for (const id of o.object) {
      if (survey === 'ztf' && !ZTF_OBJECT_ID.test(id)) throw new UsageError(`--object ${id}: not a ZTF objectId (ZTF, two digits, seven lower-case letters)`);
      if (survey === 'lsst' && !(/^\d{1,19}$/.test(id) && BigInt(id) <= MAX_INT64)) throw new UsageError(`--object ${id}: not a Rubin diaObjectId (a 64-bit integer)`);
    }
    query = { kind: 'objects', objectIds: [...new Set(o.object)] };
  } else {
    const parts = o.cone!.split(',').map((s) => s.trim());
    const [ra, dec, radius] = parts.map(Number);
    if (parts.length !== 3 || parts.some((s) => s === '') || ![ra, dec, radius].every(Number.isFinite)) throw new UsageError(`--cone ${o.cone}: RA,DEC,RADIUS in degrees, degrees and arcsec`);
    if (!(ra >= 0 && ra <= 360) || !(dec >= -90 && dec <= 90)) throw new UsageError(`--cone ${o.cone}: RA in [0, 360] and Dec in [-90, 90] degrees`);
    if (!(radius > 0 && radius <= MAX_CONE_RADIUS_ARCSEC)) throw new UsageError(`--cone ${o.cone}: the radius must be above 0 and at most ${MAX_CONE_RADIUS_ARCSEC} arcsec (the API's limit)`);
    query = { kind: 'conesearch', ra, dec, radiusArcsec: radius };
  }
  return { query, survey, baseUrl, cutouts };
}
