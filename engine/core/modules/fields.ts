/**
 * The scalar alert fields a module declaration may use in `{"alert": [...]}` features and in cuts, per
 * survey: the triggering detection's record as the survey publishes it (ZTF's `candidate`, schema 3.3-4.02;
 * Rubin's `diaSource`, lsst.v7-v10), and the columns the Fink broker adds to its alerts (its transfer and
 * livestream schemas). Sieve's own summary fields (`band`, `isdiffpos` as 't'/'f') are there too.
 */
export const ZTF_CANDIDATE_FIELDS = [
  'jd', 'fid', 'pid', 'diffmaglim', 'programpi', 'programid', 'candid', 'isdiffpos', 'tblid', 'nid', 'rcid', 'field', 'xpos', 'ypos', 'ra',
  'dec', 'magpsf', 'sigmapsf', 'chipsf', 'magap', 'sigmagap', 'distnr', 'magnr', 'sigmagnr', 'chinr', 'sharpnr', 'sky', 'magdiff', 'fwhm',
  'classtar', 'mindtoedge', 'magfromlim', 'seeratio', 'aimage', 'bimage', 'aimagerat', 'bimagerat', 'elong', 'nneg', 'nbad', 'rb',
  'ssdistnr', 'ssmagnr', 'ssnamenr', 'sumrat', 'magapbig', 'sigmagapbig', 'ranr', 'decnr', 'sgmag1', 'srmag1', 'simag1', 'szmag1',
  'sgscore1', 'distpsnr1', 'ndethist', 'ncovhist', 'jdstarthist', 'jdendhist', 'scorr', 'tooflag', 'sgmag2', 'srmag2', 'simag2',
  'szmag2', 'sgscore2', 'distpsnr2', 'sgmag3', 'srmag3', 'simag3', 'szmag3', 'sgscore3', 'distpsnr3', 'nmtchps', 'rfid', 'jdstartref',
  'jdendref', 'nframesref', 'rbversion', 'dsnrms', 'ssnrms', 'dsdiff', 'magzpsci', 'magzpsciunc', 'magzpscirms', 'nmatches', 'clrcoeff',
  'clrcounc', 'zpclrcov', 'zpmed', 'clrmed', 'clrrms', 'neargaia', 'neargaiabright', 'maggaia', 'maggaiabright', 'exptime', 'drb',
  'drbversion',
] as const;

/** Columns the Fink broker adds to ZTF alerts (cross-matches, classifier scores, light-curve summaries). */
export const FINK_ZTF_FIELDS = [
  'cdsxmatch', 'tns', 'DR3Name', 'Plx', 'e_Plx', 'gaiaVarFlag', 'gaiaClass', 'vsx', 'spicy_id', 'spicy_class', 'gcvs', 'x3hsp', 'x4lac',
  'mangrove', 'roid', 'rf_snia_vs_nonia', 'snn_snia_vs_nonia', 'snn_sn_vs_all', 'mulens', 'nalerthist', 'rf_kn_vs_nonkn', 'anomaly_score',
  'jd_first_real_det', 'jdstarthist_dt', 'mag_rate', 'sigma_rate', 'lower_rate', 'upper_rate', 'delta_time', 'from_upper', 'is_transient',
  'slsn_score', 'tracklet', 'finkclass', 'tnsclass',
] as const;

export const LSST_DIASOURCE_FIELDS = [
  'diaSourceId', 'visit', 'detector', 'diaObjectId', 'ssObjectId', 'parentDiaSourceId', 'midpointMjdTai', 'ra', 'raErr', 'dec', 'decErr',
  'x', 'y', 'centroid_flag', 'apFlux', 'apFluxErr', 'isNegative', 'snr', 'psfFlux', 'psfFluxErr', 'psfLnL', 'psfChi2', 'psfNdata',
  'psfFlux_flag', 'trailFlux', 'trailFluxErr', 'trailLength', 'trailLengthErr', 'trailAngle', 'trailChi2', 'trailNdata', 'dipoleMeanFlux',
  'dipoleFluxDiff', 'dipoleLength', 'dipoleAngle', 'dipoleChi2', 'scienceFlux', 'scienceFluxErr', 'templateFlux', 'templateFluxErr', 'ixx',
  'iyy', 'ixy', 'ixxPSF', 'iyyPSF', 'ixyPSF', 'extendedness', 'reliability', 'band', 'isDipole', 'bboxSize', 'pixelFlags',
  'pixelFlags_bad', 'pixelFlags_cr', 'pixelFlags_edge', 'pixelFlags_saturated', 'pixelFlags_streak', 'glint_trail',
] as const;

/** The same record in ELAsTiCC-era alerts (DPDD names), as Fink's ELAsTiCC Parquet holds them. */
export const ELASTICC_DIASOURCE_FIELDS = ['ccdVisitId', 'midPointTai', 'filterName', 'decl', 'psFlux', 'psFluxErr', 'nobs'] as const;

export const FINK_LSST_FIELDS = ['tns_type_recomputed', 'nDiaSources', 'firstDiaSourceMjdTai', 'lastDiaSourceMjdTai'] as const;

/** Fields of Sieve's own alert summary, on every alert of both surveys. */
export const SUMMARY_FIELDS = ['jd', 'band', 'fid', 'magpsf', 'sigmapsf', 'isdiffpos', 'rb', 'drb', 'sgscore1', 'distpsnr1', 'ssdistnr', 'ndethist', 'classtar', 'diffmaglim', 'ra', 'dec'] as const;

export type SurveyName = 'ztf' | 'lsst';

/** Summary fields that only ZTF measures (a Rubin alert's summary holds NaN there): an lsst module cannot use them. */
export const ZTF_ONLY_SUMMARY_FIELDS: ReadonlySet<string> = new Set(['rb', 'drb', 'sgscore1', 'distpsnr1', 'ssdistnr', 'classtar']);

export function knownAlertFields(survey: SurveyName): ReadonlySet<string> {
  return new Set<string>(survey === 'ztf' ? [...SUMMARY_FIELDS, ...ZTF_CANDIDATE_FIELDS, ...FINK_ZTF_FIELDS]
    : [...SUMMARY_FIELDS.filter((f) => !ZTF_ONLY_SUMMARY_FIELDS.has(f)), ...LSST_DIASOURCE_FIELDS, ...ELASTICC_DIASOURCE_FIELDS, ...FINK_LSST_FIELDS]);
}

/**
 * Units of the alert fields that have one, as the surveys' schemas give them (ZTF's candidate, Rubin's
 * diaSource and diaObject, ELAsTiCC's header); fields not listed are dimensionless, counts, flags or text.
 * Times are recognised by name (below), so that every MJD or JD is shown to its precision.
 */
const ALERT_FIELD_UNITS: Readonly<Record<string, string>> = {
  // ZTF candidate
  magpsf: 'mag', sigmapsf: 'mag', diffmaglim: 'mag', magap: 'mag', sigmagap: 'mag', magapbig: 'mag', sigmagapbig: 'mag', magnr: 'mag', sigmagnr: 'mag',
  magdiff: 'mag', magfromlim: 'mag', ssmagnr: 'mag', sgmag1: 'mag', srmag1: 'mag', simag1: 'mag', szmag1: 'mag', sgmag2: 'mag', srmag2: 'mag',
  simag2: 'mag', szmag2: 'mag', sgmag3: 'mag', srmag3: 'mag', simag3: 'mag', szmag3: 'mag', maggaia: 'mag', maggaiabright: 'mag', magzpsci: 'mag',
  magzpsciunc: 'mag', magzpscirms: 'mag', clrmed: 'mag', clrrms: 'mag', zpmed: 'mag',
  distpsnr1: 'arcsec', distpsnr2: 'arcsec', distpsnr3: 'arcsec', ssdistnr: 'arcmin', neargaia: 'arcsec', neargaiabright: 'arcsec', distnr: 'pixel',
  fwhm: 'pixel', aimage: 'pixel', bimage: 'pixel', xpos: 'pixel', ypos: 'pixel', mindtoedge: 'pixel', ra: 'deg', dec: 'deg', ranr: 'deg', decnr: 'deg',
  exptime: 's', sky: 'DN',
  // Fink's ZTF columns
  mag_rate: 'mag/day', sigma_rate: 'mag/day', lower_rate: 'mag/day', upper_rate: 'mag/day', delta_time: 'day', jdstarthist_dt: 'day',
  Plx: 'mas', e_Plx: 'mas',
  // Rubin diaSource / diaObject, ELAsTiCC
  psfFlux: 'nJy', psfFluxErr: 'nJy', apFlux: 'nJy', apFluxErr: 'nJy', psFlux: 'nJy', psFluxErr: 'nJy', trailFlux: 'nJy', trailFluxErr: 'nJy',
  scienceFlux: 'nJy', scienceFluxErr: 'nJy', templateFlux: 'nJy', templateFluxErr: 'nJy', dipoleMeanFlux: 'nJy', dipoleFluxDiff: 'nJy',
  trailLength: 'arcsec', trailLengthErr: 'arcsec', dipoleLength: 'arcsec', trailAngle: 'deg', dipoleAngle: 'deg', raErr: 'deg', decErr: 'deg',
  x: 'pixel', y: 'pixel', decl: 'deg', RA: 'deg', DEC: 'deg', MWEBV: 'mag', mwebv: 'mag', GALSNSEP: 'arcsec', hostgal_snsep: 'arcsec', MU: 'mag', LENSDMU: 'mag',
  DTSEASON_PEAK: 'day',
};

/** A field's unit (`diaObject.<f>` as <f>): the table, then by name every MJD ('MJD') and Julian Date ('JD'), PEAKMAG_* (mag) and fluxes (nJy); null when it has none. */
export function alertFieldUnit(name: string): string | null {
  const last = name.slice(name.lastIndexOf('.') + 1);
  const u = ALERT_FIELD_UNITS[name] ?? ALERT_FIELD_UNITS[last];
  if (u !== undefined) return u || null;
  if (/mjd/i.test(last) || last === 'midPointTai') return 'MJD';
  if (/^jd|jd$|^jd_|_jd/i.test(last) && !/^jdstarthist_dt$/.test(last)) return 'JD';
  if (/^PEAKMAG_/.test(last)) return 'mag';
  if (/FluxMean|FluxErrMean|Flux$|FluxErr$/.test(last)) return 'nJy';
  return null;
}
