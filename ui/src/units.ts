/**
 * Display names, units and short explanations for the numbers the alert view shows. Units are those of the
 * values as the API gives them (features are computed by Fink's definitions: the early SN Ia sigmoid on
 * FLUXCAL flux against days, the anomaly statistics on magnitudes).
 */
const CONTEXT: Record<string, { unit?: string; title: string }> = {
  rb: { title: 'real-bogus score of the detection (0 bogus … 1 real)' },
  drb: { title: 'deep-learning real-bogus score (0 … 1)' },
  sgscore1: { title: 'star/galaxy score of the nearest PS1 source (1 = star)' },
  distpsnr1: { unit: 'arcsec', title: 'distance to the nearest PS1 source' },
  ssdistnr: { unit: 'arcmin', title: 'distance to the nearest known solar-system object' },
  ndethist: { title: 'number of earlier detections at this position (≥ 3σ)' },
  classtar: { title: 'SExtractor star/galaxy classifier (1 = star)' },
  magpsf: { unit: 'mag', title: 'PSF-fit magnitude of the detection' },
  sigmapsf: { unit: 'mag', title: 'uncertainty of magpsf' },
  diffmaglim: { unit: 'mag', title: '5σ limiting magnitude of the difference image' },
  isdiffpos: { title: 't: the difference is positive (brighter than the template)' },
  row: { title: 'row of this alert in the file it was read from (TNS-labelled tables)' },
  simulated: { title: 'a simulated alert (Sieve\'s simulator), not a real detection' },
};

const FEATURE_UNITS: Array<[RegExp, string]> = [
  // early SN Ia sigmoid: f(t) = c / (1 + exp(-a (t - b))), t in days, f in FLUXCAL
  [/^a_[a-z]$/, '1/day'], [/^b_[a-z]$/, 'day'], [/^c_[a-z]$/, 'FLUXCAL'], [/^mse_[a-z]$/, 'FLUXCAL²'], [/^nrise_[a-z]$/, 'points'],
  // kilonova PCA
  [/^maxflux_[a-z]$/, 'FLUXCAL'],
  // anomaly statistics on magnitudes
  [/^(amplitude|inter_percentile_range.*|linear_trend_noise|mean|median|median_absolute_deviation|percent_amplitude|standard_deviation|weighted_mean)(_[a-z])?$/, 'mag'],
  [/^(linear_fit_slope|linear_fit_slope_sigma|linear_trend|linear_trend_sigma|maximum_slope)(_[a-z])?$/, 'mag/day'],
];

export function contextInfo(key: string): { unit: string | null; title: string | null } {
  const c = CONTEXT[key];
  return { unit: c?.unit ?? null, title: c?.title ?? null };
}

export function featureUnit(name: string): string | null {
  for (const [re, unit] of FEATURE_UNITS) if (re.test(name)) return unit;
  return null;
}

/** ZTF writes -999 (and -99 in a few fields) where a value is missing: show a dash, not a number. */
export function isSentinel(v: unknown): boolean {
  return v === -999 || v === -999.0 || v === -99;
}
