import { candidateFromLightCurve, LightCurveBuilder } from '../lightcurve.ts';
import type { Alert } from '../types.ts';
import { ZTF_BANDS } from '../types.ts';
import { Random } from './random.ts';
import { gunzipSync } from 'node:zlib';
import { observeLsst } from './lsst.ts';
import { renderStamps } from './stamps.ts';
import { makeSource, SIMULATED_CLASSES, TRANSIENT_CLASSES, type SimulatedClass, type SimulatedSource } from './sources.ts';

/** First night of the simulated survey (2018-03-20, ZTF's public survey start). */
const SURVEY_START_JD = 2458197.5;
/** Days between new moons. */
const SYNODIC_MONTH = 29.530589;
const NEW_MOON_JD = 2458196.6; // 2018-03-17

export interface SimulationOptions {
  /** Relative weight of each class (default: equal). */
  classWeights?: Partial<Record<SimulatedClass, number>>;
  /** Days of survey shown around each object (default 150 for transients, 240 for variables). */
  transientWindowDays?: number;
  variableWindowDays?: number;
  /** Render science / template / difference stamps of the last detection (drawn from their own random stream). */
  stamps?: boolean;
  /** Each object's alert comes 0-30 days after its first detection (as a transient is caught rising), not at the end of its window. */
  earlyAlerts?: boolean;
  /** 'ztf' (default): g and r magnitudes, ZTF's cadence; 'lsst': ugrizy fluxes in nJy, a WFD-like cadence (simulate/lsst.ts). */
  survey?: 'ztf' | 'lsst';
}

export interface SimulatedObject {
  alert: Alert;
  /** Noise-free model magnitude at each epoch of `alert.lightCurve` (the "perfect sim"). */
  modelMag: Float64Array;
  source: SimulatedSource;
}

function chooseClass(rng: Random, options: SimulationOptions): SimulatedClass {
  const weights = SIMULATED_CLASSES.map((c) => options.classWeights?.[c] ?? (options.classWeights ? 0 : 1));
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('simulation class weights sum to zero');
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i];
    if (u < 0) return SIMULATED_CLASSES[i];
  }
  return SIMULATED_CLASSES[SIMULATED_CLASSES.length - 1];
}

/**
 * ZTF-like epochs: the field is observable ~8 months a year; on each night a band is visited with
 * probability ~0.35 (the public survey's ~3-night cadence in g and r) and lost to weather ~25% of nights;
 * some visits come in same-night pairs 30-60 min apart. The 5-sigma limit scatters around 20.6 (g) /
 * 20.4 (r) and brightens by up to 0.7 mag at full moon (Bellm et al. 2019; Masci et al. 2019).
 */
function epochs(rng: Random, start: number, days: number, seasonPhase: number): { jd: number[]; band: number[]; limit: number[] } {
  const jd: number[] = [];
  const band: number[] = [];
  const limit: number[] = [];
  for (let night = 0; night < days; night++) {
    const t = start + night;
    const yearPhase = (((t - SURVEY_START_JD) / 365.25 + seasonPhase) % 1 + 1) % 1;
    if (yearPhase > 240 / 365.25) continue;
    if (rng.next() < 0.25) continue;
    const moon = 0.5 * (1 - Math.cos((2 * Math.PI * (t - NEW_MOON_JD)) / SYNODIC_MONTH));
    for (let b = 0; b < 2; b++) {
      if (rng.next() >= 0.35) continue;
      const visits = rng.next() < 0.3 ? 2 : 1;
      let time = t + rng.uniform(0.65, 0.9);
      for (let v = 0; v < visits; v++) {
        const base = b === 0 ? 20.6 : 20.4;
        const moonLoss = (b === 0 ? 0.7 : 0.45) * moon;
        jd.push(time);
        band.push(b);
        limit.push(Math.min(21.5, Math.max(18.5, rng.normal(base - moonLoss, 0.3))));
        time += rng.uniform(0.02, 0.045);
      }
    }
  }
  // Two bands were interleaved per night; keep time order.
  const order = jd.map((_, i) => i).sort((a, b) => jd[a] - jd[b]);
  return { jd: order.map((i) => jd[i]), band: order.map((i) => band[i]), limit: order.map((i) => limit[i]) };
}

/** The object's random stream, its class and the days shown around it (the same draws in both surveys). */
function drawObject(seed: number, index: number, options: SimulationOptions) {
  const rng = new Random(seed, index);
  const className = chooseClass(rng, options);
  const transient = TRANSIENT_CLASSES.has(className);
  const window = transient ? options.transientWindowDays ?? 150 : options.variableWindowDays ?? 240;
  return { rng, className, transient, window };
}

/**
 * One simulated object, a pure function of (seed, index): object i is the same whatever else is
 * simulated. Photometry: flux error from the 5-sigma limit (sigma_f = f_lim / 5) plus a 1% calibration
 * floor, Gaussian noise in flux, detection when the measured flux reaches 5 sigma; otherwise the epoch
 * is an upper limit at the limiting magnitude.
 */
export function simulateObject(seed: number, index: number, options: SimulationOptions = {}): SimulatedObject {
  if (options.survey === 'lsst') return simulateLsstObject(seed, index, options);
  const { rng, className, transient, window } = drawObject(seed, index, options);
  const start = SURVEY_START_JD + Math.floor(rng.uniform(0, 1200));
  const seasonPhase = rng.next();
  const ep = epochs(rng, start, window, seasonPhase);
  let tRef = start + rng.uniform(0.2, 0.8) * window;
  let bogusBand = 0;
  if (className === 'bogus' && ep.jd.length > 0) {
    const k = rng.int(0, ep.jd.length);
    tRef = ep.jd[k];
    bogusBand = ep.band[k];
  }
  const source = makeSource(className, rng, tRef, bogusBand);

  const n = ep.jd.length;
  const modelMag = new Float64Array(n);
  const obsMag = new Float64Array(n).fill(NaN);
  const obsErr = new Float64Array(n).fill(NaN);
  for (let i = 0; i < n; i++) {
    const band = ep.band[i];
    const mTrue = source.magAt(band, ep.jd[i]);
    modelMag[i] = mTrue;
    const fLim = Math.pow(10, -0.4 * (ep.limit[i] - 25));
    const fTrue = Number.isFinite(mTrue) ? Math.pow(10, -0.4 * (mTrue - 25)) : 0;
    const sigmaF = Math.hypot(fLim / 5, 0.01 * fTrue);
    const fObs = fTrue + rng.normal(0, sigmaF);
    if (fObs >= 5 * sigmaF) {
      obsMag[i] = -2.5 * Math.log10(fObs) + 25;
      obsErr[i] = (2.5 / Math.LN10) * (sigmaF / fObs);
    }
  }
  // An early alert: the light curve as the stream delivers it on a night 0-30 days after the first
  // detection (its own random stream, so the rest of the object is the same with or without it).
  let keep = n;
  if (options.earlyAlerts) {
    const first = obsMag.findIndex(Number.isFinite);
    if (first >= 0) {
      const cut = ep.jd[first] + new Random(seed, index + 0x50000000).uniform(0, 30);
      while (keep > 0 && ep.jd[keep - 1] > cut) keep--;
    }
  }
  const b = new LightCurveBuilder(ZTF_BANDS, 'mag');
  for (let i = 0; i < keep; i++) b.addMagnitude({ jd: ep.jd[i], band: ep.band[i], mag: obsMag[i], magErr: obsErr[i], limitMag: ep.limit[i] });
  const lc = b.build();
  // Packet metadata is drawn in a fixed order (reproducibility): real-bogus scores, star/galaxy scores.
  const candidate = candidateFromLightCurve(lc, {
    rb: className === 'bogus' ? rng.uniform(0, 0.5) : rng.uniform(0.5, 1),
    drb: className === 'bogus' ? rng.uniform(0, 0.3) : rng.uniform(0.7, 1),
    sgscore1: transient ? rng.uniform(0, 0.3) : rng.uniform(0.7, 1),
    distpsnr1: rng.uniform(0, 3),
    ssdistnr: -999,
    classtar: transient ? rng.uniform(0, 0.5) : rng.uniform(0.8, 1),
  });
  let cutouts: Alert['cutouts'] = {};
  if (options.stamps) {
    // its own stream: turning stamps on changes nothing else of the object
    const srng = new Random(seed, index + 0x40000000);
    let last = -1;
    for (let k = 0; k < lc.jd.length; k++) if (lc.detected[k]) last = k;
    const transientHost = transient && srng.next() < 0.8;
    const host = className === 'bogus' ? null : transient
      ? (transientHost ? { mag: srng.uniform(18.5, 21.5), offsetPx: [srng.normal(0, 2), srng.normal(0, 2)] as [number, number], sigmaPx: srng.uniform(1, 3) } : null)
      // a variable star sits in the template at its mean brightness
      : { mag: source.magAt(0, tRef), offsetPx: [0, 0] as [number, number], sigmaPx: 0 };
    const mag = last < 0 ? NaN : lc.mag[last];
    // the difference shows the change from the template: for a variable, its excursion from the mean
    const changeMag = transient || !host || !Number.isFinite(mag) ? mag : -2.5 * Math.log10(Math.max(1e-3, Math.abs(10 ** (-0.4 * mag) - 10 ** (-0.4 * host.mag)))) ;
    cutouts = renderStamps({ mag: changeMag, limitMag: last >= 0 && Number.isFinite(lc.limitMag[last]) ? lc.limitMag[last] : 20.5, host, bogus: className === 'bogus' }, srng);
  }
  const alert: Alert = {
    survey: 'ztf',
    objectId: `SIM${seed}x${index}`,
    candid: BigInt(seed) * 10_000_000_000n + BigInt(index),
    ra: rng.uniform(0, 360),
    dec: (Math.asin(rng.uniform(-0.5, 1)) * 180) / Math.PI,
    candidate,
    lightCurve: lc,
    cutouts,
    label: className,
    extra: { simulated: true },
    // the survey record's history field, as ZTF's candidate carries it: the first detection
    raw: { jdstarthist: firstDetectionJd(lc) },
  };
  return { alert, modelMag: keep === n ? modelMag : modelMag.slice(0, keep), source };
}

/** First night of the simulated Rubin survey (MJD 60800, 2025-05-09, around the start of operations). */
const LSST_START_MJD = 60800;

/** The LSST mode of simulateObject: the same classes and source models, observed as Rubin would. */
function simulateLsstObject(seed: number, index: number, options: SimulationOptions): SimulatedObject {
  const { rng, className, transient, window } = drawObject(seed, index, options);
  const startMjd = LSST_START_MJD + Math.floor(rng.uniform(0, 1200));
  const seasonPhase = rng.next();
  const tRef = startMjd + 2400000.5 + rng.uniform(0.2, 0.8) * window;
  const source = makeSource(className, rng, tRef, 0);
  const early = options.earlyAlerts ? new Random(seed, index + 0x50000000).uniform(0, 30) : null;
  const { alert, modelMag } = observeLsst(rng, source, className, startMjd, window, seasonPhase, {
    objectId: `SIMLSST${seed}x${index}`, candid: BigInt(seed) * 10_000_000_000n + 5_000_000_000n + BigInt(index),
  }, early);
  if (!options.stamps) return { alert, modelMag, source };
  const srng = new Random(seed, index + 0x40000000);
  const lc = alert.lightCurve;
  let last = -1;
  for (let k = 0; k < lc.jd.length; k++) if (lc.detected[k]) last = k;
  const host = transient && srng.next() < 0.8 ? { mag: srng.uniform(20, 23.5), offsetPx: [srng.normal(0, 2), srng.normal(0, 2)] as [number, number], sigmaPx: srng.uniform(1, 3) } : null;
  const zs = renderStamps({ mag: last < 0 ? NaN : lc.mag[last], limitMag: last >= 0 ? lc.limitMag[last] : 24, host, bogus: className === 'bogus' }, srng);
  // Rubin's stamps are plain FITS
  const plain = (c: { bytes: Uint8Array } | undefined, name: string) => (c ? { fileName: name, bytes: new Uint8Array(gunzipSync(c.bytes)) } : undefined);
  const cutouts = { science: plain(zs.science, 'cutoutScience'), template: plain(zs.template, 'cutoutTemplate'), difference: plain(zs.difference, 'cutoutDifference') };
  return { alert: { ...alert, cutouts }, modelMag, source };
}

function firstDetectionJd(lc: Alert['lightCurve']): number {
  let t = NaN;
  for (let i = 0; i < lc.jd.length; i++) if (lc.detected[i] && !(lc.jd[i] >= t)) t = lc.jd[i];
  return t;
}

/** `n` objects from one seed, in order. */
export function* simulate(n: number, seed: number, options: SimulationOptions = {}): Generator<SimulatedObject> {
  for (let i = 0; i < n; i++) yield simulateObject(seed, i, options);
}

/** The noise-free light curve of a source on any time grid (the perfect simulation). */
export function perfectLightCurve(source: SimulatedSource, band: number, jd: ArrayLike<number>): Float64Array {
  const out = new Float64Array(jd.length);
  for (let i = 0; i < jd.length; i++) out[i] = source.magAt(band, jd[i]);
  return out;
}

/** A noise-free source of a given class with its reference epoch at `tRef`, for building templates. */
export function perfectSource(className: SimulatedClass, seed: number, index: number, tRef = 0): SimulatedSource {
  return makeSource(className, new Random(seed, index), tRef);
}
