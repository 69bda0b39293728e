/**
 * Short explanations of the context fields the alert view shows. Their units are not here: the API sends
 * each value's unit (the extractor's for a feature, the survey schema's for an alert field).
 */
const CONTEXT: Record<string, { title: string }> = {
  rb: { title: 'real-bogus score of the detection (0 bogus … 1 real)' },
  drb: { title: 'deep-learning real-bogus score (0 … 1)' },
  sgscore1: { title: 'star/galaxy score of the nearest PS1 source (1 = star)' },
  distpsnr1: { title: 'distance to the nearest PS1 source' },
  ssdistnr: { title: 'distance to the nearest known solar-system object' },
  ndethist: { title: 'number of earlier detections at this position (≥ 3σ)' },
  classtar: { title: 'SExtractor star/galaxy classifier (1 = star)' },
  magpsf: { title: 'PSF-fit magnitude of the detection' },
  sigmapsf: { title: 'uncertainty of magpsf' },
  diffmaglim: { title: '5σ limiting magnitude of the difference image' },
  isdiffpos: { title: 't: the difference is positive (brighter than the template)' },
  row: { title: 'row of this alert in the file it was read from (TNS-labelled tables)' },
  simulated: { title: 'a simulated alert (Sieve\'s simulator), not a real detection' },
  // Rubin diaSource
  reliability: { title: 'Rubin\'s real/bogus reliability of the DIA source (0 … 1)' },
  snr: { title: 'signal-to-noise ratio of the DIA source' },
  extendedness: { title: 'extendedness of the source (0 point-like … 1 extended)' },
  isNegative: { title: 'the difference flux is negative (fainter than the template)' },
  psfFlux: { title: 'PSF flux on the difference image' },
  psfFluxErr: { title: 'uncertainty of psfFlux' },
  psFlux: { title: 'PSF flux on the difference image (ELAsTiCC)' },
  psFluxErr: { title: 'uncertainty of psFlux (ELAsTiCC)' },
  trailLength: { title: 'length of a trailed-source fit (moving objects, satellites)' },
  trailFlux: { title: 'flux of the trailed-source fit' },
  'diaObject.nDiaSources': { title: 'DIA sources associated with the object' },
  'diaObject.firstDiaSourceMjdTai': { title: 'first detection of the object' },
  'diaObject.lastDiaSourceMjdTai': { title: 'last detection of the object' },
};

/** The explanation of a context field, shown as its row's title (units come from the API, with the values). */
export function contextTitle(key: string): string | null {
  return CONTEXT[key]?.title ?? null;
}
