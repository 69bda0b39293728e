/** The queries `sieve pull fink` sends, per survey. */
export type PullSurvey = 'ztf' | 'lsst';

export type PullQuery =
  /** ZTF only: the latest alerts of a Fink class between two days (YYYY-MM-DD), one page per window. */
  | { kind: 'latests'; className: string; start: string; stop: string; n: number; windowDays: number }
  /** ZTF objectIds or Rubin diaObjectIds (decimal text), one page each. */
  | { kind: 'objects'; objectIds: string[] }
  | { kind: 'conesearch'; ra: number; dec: number; radiusArcsec: number };

/** Whose stamps are kept: every alert's, the newest alert's of each object, or none. */
export type CutoutChoice = 'all' | 'latest' | 'none';
export const CUTOUT_CHOICES: readonly CutoutChoice[] = ['latest', 'all', 'none'];

/** One page: stored whole or not at all, skipped when a pull runs again. */
export interface PullPage {
  id: string;
  route: string;
  body: Record<string, unknown>;
}

/** Where Fink's APIs answer (fink-object-api README: the ZTF and LSST API reference guides). */
export const FINK_API_HOSTS: Readonly<Record<PullSurvey, string>> = {
  ztf: 'https://api.ztf.fink-portal.org',
  lsst: 'https://api.lsst.fink-portal.org',
};

/** The API's own limit on a cone radius (conesearch/utils.py of both surveys). */
export const MAX_CONE_RADIUS_ARCSEC = 18000;
