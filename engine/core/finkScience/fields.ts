import {
  ELASTICC_DIASOURCE_FIELDS, FINK_LSST_FIELDS, FINK_ZTF_FIELDS, LSST_DIASOURCE_FIELDS, SUMMARY_FIELDS, ZTF_CANDIDATE_FIELDS, type SurveyName,
} from '../modules/fields.ts';
import { TEXT_FIELDS } from '../modules/parts.ts';
import { FinkScienceRefusal } from './refusal.ts';

/** Where an alert field of a declaration lives in fink-broker's science DataFrame, and how it is read. */
export interface FinkField {
  /** The column fink-broker hands the processor (`candidate.drb`, `cdsxmatch`, `diaSource.snr`). */
  column: string;
  kind: 'num' | 'text';
  /** A one-line Python helper of python/fields.py that gives Sieve's value from Fink's column. */
  derive?: '_ztf_band' | '_ztf_isdiffpos';
}

/**
 * Columns Fink adds to ZTF alerts that are not in its science DataFrame when the modules run (added later by
 * other jobs, or a map rather than a value), with the reason.
 */
const ZTF_NOT_IN_SCIENCE: Record<string, string> = {
  tracklet: "Fink adds 'tracklet' after the science modules (fink_broker/ztf/tracklet_identification.py)",
  finkclass: "'finkclass' is computed by Fink's API (fink-filters' classification), not in the broker's science DataFrame",
  tnsclass: "'tnsclass' is a column of Fink's API, not of the broker's science DataFrame",
  mangrove: "'mangrove' is a map of catalogue columns in Fink's science DataFrame, not one value",
};

/**
 * Sieve's field name -> Fink's column, per survey (fink-broker's fink_broker/{ztf,rubin}/science.py at the
 * commit of ../shared/data/fink/README.md). Fields Fink does not have are refused with the reason.
 */
export function finkField(survey: SurveyName, name: string): FinkField {
  const kind = TEXT_FIELDS.has(name) ? 'text' : 'num';
  if (survey === 'ztf') {
    // Sieve's summary: the band's name from the filter id, and isdiffpos as 't'/'f' whatever ZTF wrote
    if (name === 'band') return { column: 'candidate.fid', kind: 'text', derive: '_ztf_band' };
    if (name === 'isdiffpos') return { column: 'candidate.isdiffpos', kind: 'text', derive: '_ztf_isdiffpos' };
    if ((SUMMARY_FIELDS as readonly string[]).includes(name) || (ZTF_CANDIDATE_FIELDS as readonly string[]).includes(name)) return { column: `candidate.${name}`, kind };
    if (ZTF_NOT_IN_SCIENCE[name]) throw new FinkScienceRefusal(ZTF_NOT_IN_SCIENCE[name]);
    if ((FINK_ZTF_FIELDS as readonly string[]).includes(name)) return { column: name, kind };
    throw new FinkScienceRefusal(`'${name}' is not a field of Fink's ZTF alerts`);
  }
  if ((LSST_DIASOURCE_FIELDS as readonly string[]).includes(name)) return { column: `diaSource.${name}`, kind };
  if (name === 'ra' || name === 'dec') return { column: `diaSource.${name}`, kind };
  if ((ELASTICC_DIASOURCE_FIELDS as readonly string[]).includes(name)) {
    throw new FinkScienceRefusal(`'${name}' is an ELAsTiCC-era diaSource name: Fink's Rubin alerts (lsst schema) have no such field`);
  }
  if ((SUMMARY_FIELDS as readonly string[]).includes(name)) {
    throw new FinkScienceRefusal(`'${name}' is Sieve's ZTF-style summary of a Rubin diaSource, not a column of Fink's Rubin alerts: declare the diaSource field it comes from`);
  }
  if ((FINK_LSST_FIELDS as readonly string[]).includes(name)) {
    throw new FinkScienceRefusal(`'${name}' comes from Fink's ELAsTiCC-era tables; Fink's Rubin science DataFrame (fink_broker/rubin/science.py) has no such column`);
  }
  throw new FinkScienceRefusal(`'${name}' is not a field of Fink's Rubin alerts`);
}
