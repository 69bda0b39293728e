import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelBundle } from '../../models/index.ts';
import { FinkScienceRefusal, moduleFromDeclaration, parseDeclaration, planProcessor } from '../../engine/index.ts';
import { REPO_ROOT } from '../shared.ts';

const example = (name: string) => JSON.parse(readFileSync(path.join(REPO_ROOT, 'examples', `${name}.json`), 'utf8'));

/** A version's plan: what the processor takes and writes, or the one-line refusal (only the manifest's model type and version are read before the model). */
function plan(declaration: object, modelType = 'random-forest') {
  const def = moduleFromDeclaration(parseDeclaration(JSON.stringify(declaration), 'test'));
  return planProcessor({ manifest: { modelType, version: '3' } } as unknown as ModelBundle, def);
}

function refusal(declaration: object, modelType?: string): string {
  try {
    plan(declaration, modelType);
  } catch (e) {
    expect(e).toBeInstanceOf(FinkScienceRefusal);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('not refused');
}

describe('fink-science export: what a processor takes, and what Fink cannot run', () => {
  it("takes fink-broker's columns: the c* histories Fink's code reads, the candidate's fields, Fink's added columns", () => {
    const p = plan(example('fast-transient'));
    expect(p.pythonName).toBe('fast_transient');
    expect(p.functionName).toBe('fast_transient_score');
    expect(p.arguments).toEqual([
      'cmagpsf', 'cjd', 'csigmapsf', 'cfid', 'objectId', 'cdistnr', 'cmagnr', 'csigmagnr', 'cisdiffpos',
      'candidate.rb', 'candidate.drb', 'candidate.sgscore1', 'candidate.distpsnr1', 'candidate.ndethist', 'candidate.magpsf',
    ]);
    expect(p.featureColumns).toHaveLength(56);
    expect(p.outputColumns).toEqual(['rf_fast_vs_other']);
    expect(p.modelFile).toBe('fast_transient/fast-transient_v3.pkl');
    const rubin = plan(example('young-sn-rubin'));
    expect(rubin.surveyFolder).toBe('rubin');
    expect(rubin.arguments).toEqual(['cmidpointMjdTai', 'cband', 'cpsfFlux', 'cpsfFluxErr', 'diaSource.snr', 'diaSource.reliability']);
    // a cut on a Fink column the features do not hold comes as an argument too
    const d = example('fast-transient');
    d.cuts = "drb > 0.5 and cdsxmatch in ['Unknown', 'SN'] and band == 'g'";
    expect(plan(d).arguments.slice(-2)).toEqual(['cdsxmatch', 'candidate.fid']);
  });

  it('names a module that fink-science already has otherwise, and writes the class columns of a K-class module', () => {
    const ml = JSON.parse(readFileSync(path.join(REPO_ROOT, 'engine', 'core', 'modules', 'declarations', 'microlensing.json'), 'utf8'));
    const p = plan(ml);
    expect(p.pythonName).toBe('microlensing_sieve');
    expect(p.outputColumns).toEqual(['mulens_ml', 'mulens_ml_ML', 'mulens_ml_VAR', 'mulens_ml_CONST', 'mulens_ml_SN']);
  });

  it('refuses, in one line, an extractor, a field or a model Fink has no code for', () => {
    expect(refusal(example('kilonova-sieve'))).toMatch(/^Sieve's own kilonova basis \(kilonova-sieve, from sieve basis\) has no counterpart in Fink/);
    const ztf = example('fast-transient');
    expect(refusal({ ...ztf, cuts: "tracklet == ''" })).toBe("Fink adds 'tracklet' after the science modules (fink_broker/ztf/tracklet_identification.py)");
    expect(refusal({ ...ztf, features: ['anomaly', { alert: ['rb'] }], cuts: "finkclass == 'SN candidate'" })).toMatch(/^'finkclass' is computed by Fink's API/);
    const rubin = example('young-sn-rubin');
    expect(refusal({ ...rubin, features: ['rainbow', { alert: ['psFlux'] }] })).toBe("'psFlux' is an ELAsTiCC-era diaSource name: Fink's Rubin alerts (lsst schema) have no such field");
    expect(refusal({ ...rubin, features: ['rainbow', { alert: ['magpsf'] }] })).toMatch(/^'magpsf' is Sieve's ZTF-style summary of a Rubin diaSource, not a column of Fink's Rubin alerts/);
    expect(refusal(ztf, 'mlp')).toBe("a mlp model has no loader in Fink's processors (random forests and per-band AAD forests have)");
    // a number compared with text is refused by the declaration's type check, before any export is planned
    expect(() => plan({ ...ztf, cuts: 'drb == cdsxmatch' })).toThrow(/^test:\d+:\d+: cuts: '==' compares 'drb', a number, with 'cdsxmatch', text$/);
  });
});
