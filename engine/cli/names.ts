/**
 * The names the CLI checks options against, kept here as plain lists so that `sieve` does not load the
 * feature, model and engine code before an option is validated (start-up time). A test checks that each
 * list equals the one the code behind it uses.
 */
export const SIMULATED_CLASS_NAMES = [
  'SN Ia', 'SN Ibc', 'SN II', 'SLSN', 'kilonova', 'TDE', 'RR Lyrae', 'eclipsing binary', 'Cepheid/LPV', 'microlensing', 'AGN', 'bogus',
] as const;
export const EXTRACTOR_NAMES = ['early-snia', 'anomaly', 'kilonova', 'kilonova-sieve', 'anomaly-rubin', 'rainbow', 'early-snia-rubin'] as const;
export const STRATEGY_NAMES = ['uncertainty', 'margin', 'entropy', 'committee', 'random', 'bald', 'predictive-entropy'] as const;
export const AL_STRATEGIES = ['uncertainty', 'margin', 'entropy', 'bald', 'predictive-entropy', 'random'] as const;
export const EXPORT_FORMATS = ['bundle', 'onnx', 'onnx-mc', 'fink-anomaly-zip', 'sklearn', 'fink-science'] as const;
/** The store every command uses when --db is not given: the one `sieve demo` builds and `sieve serve` serves. */
export const DEFAULT_DB = 'sieve-demo.db';
/** Where `sieve demo` finds the real samples it adds to its simulated night (relative to the working directory). */
export const DEFAULT_SHARED_DATA = '../shared/data';
/** Where `sieve experiment al` looks for labelled alerts when --data is not given (the TNS-labelled alerts). */
export const DEFAULT_AL_DATA = '../shared/data/tns';
