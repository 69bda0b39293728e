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
  // Rubin diaSource
  reliability: { title: 'Rubin\'s real/bogus reliability of the DIA source (0 … 1)' },
  snr: { title: 'signal-to-noise ratio of the DIA source' },
  extendedness: { title: 'extendedness of the source (0 point-like … 1 extended)' },
  isNegative: { title: 'the difference flux is negative (fainter than the template)' },
  psfFlux: { unit: 'nJy', title: 'PSF flux on the difference image' },
  psfFluxErr: { unit: 'nJy', title: 'uncertainty of psfFlux' },
  psFlux: { unit: 'nJy', title: 'PSF flux on the difference image (ELAsTiCC)' },
  psFluxErr: { unit: 'nJy', title: 'uncertainty of psFlux (ELAsTiCC)' },
  trailLength: { unit: 'arcsec', title: 'length of a trailed-source fit (moving objects, satellites)' },
  trailFlux: { unit: 'nJy', title: 'flux of the trailed-source fit' },
  'diaObject.nDiaSources': { title: 'DIA sources associated with the object' },
  'diaObject.firstDiaSourceMjdTai': { unit: 'MJD', title: 'first detection of the object' },
  'diaObject.lastDiaSourceMjdTai': { unit: 'MJD', title: 'last detection of the object' },
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

/** Rubin modules compute on flux in nJy against MJD (Fink's Rubin features), and Rainbow has its own units. */
const RUBIN_FEATURE_UNITS: Array<[RegExp, string]> = [
  [/^(amplitude|inter_percentile_range.*|linear_trend_noise|mean|median|median_absolute_deviation|percent_amplitude|standard_deviation|weighted_mean)_[ugrizy]$/, 'nJy'],
  [/^(linear_fit_slope|linear_fit_slope_sigma|linear_trend|linear_trend_sigma|maximum_slope)_[ugrizy]$/, 'nJy/day'],
  [/^(rise_time|k_sig)$/, 'day'], [/^reference_time$/, 'MJD'], [/^Tmin$/, 'K'], [/^lc_max$/, 'nJy'], [/^amplitude$/, 'lc_max'], [/^npoints$/, 'points'],
];

export function featureUnit(name: string, module = ''): string | null {
  const rubin = /-rubin$|^rainbow$/.test(module);
  for (const [re, unit] of rubin ? RUBIN_FEATURE_UNITS : FEATURE_UNITS) if (re.test(name)) return unit;
  return null;
}

/** ZTF writes -999 (and -99 in a few fields) where a value is missing: show a dash, not a number. */
export function isSentinel(v: unknown): boolean {
  return v === -999 || v === -999.0 || v === -99;
}
