import type { Random } from './random.ts';

/**
 * Noise-free source models for the simulated classes, in apparent AB magnitude per ZTF band (0 = g,
 * 1 = r). `Infinity` means no flux. Parameter ranges come from the literature cited at each class; they
 * aim at realistic shapes, colours and time scales, not at a calibrated population synthesis.
 */
export interface SimulatedSource {
  readonly className: SimulatedClass;
  /** JD of maximum light (transients) or a reference epoch (variables). */
  readonly tRef: number;
  magAt(band: number, jd: number): number;
}

export const SIMULATED_CLASSES = [
  'SN Ia', 'SN Ibc', 'SN II', 'SLSN', 'kilonova', 'TDE',
  'RR Lyrae', 'eclipsing binary', 'Cepheid/LPV', 'microlensing', 'AGN', 'bogus',
] as const;
export type SimulatedClass = (typeof SIMULATED_CLASSES)[number];

export const TRANSIENT_CLASSES: ReadonlySet<SimulatedClass> = new Set(['SN Ia', 'SN Ibc', 'SN II', 'SLSN', 'kilonova', 'TDE']);

const C_OVER_H0_MPC = 299792.458 / 70;

/** Distance modulus at low-to-moderate z for flat LCDM (q0 = -0.55) via the luminosity-distance series. */
export function distanceModulus(z: number): number {
  const dlMpc = C_OVER_H0_MPC * z * (1 + 0.5 * (1 + 0.55) * z);
  return 5 * Math.log10(dlMpc * 1e6 / 10);
}

function magFromRelativeFlux(peakMag: number, relFlux: number): number {
  return relFlux > 0 ? peakMag - 2.5 * Math.log10(relFlux) : Infinity;
}

/**
 * Bazin et al. (2009) shape f = exp(-(t-t0)/tfall) / (1 + exp(-(t-t0)/trise)), normalised to 1 at its
 * maximum so the band's peak magnitude is exact.
 */
function bazin(t: number, tPeak: number, trise: number, tfall: number): number {
  const t0 = tPeak - trise * Math.log(tfall / trise - 1);
  const shape = (x: number) => Math.exp(-(x - t0) / tfall) / (1 + Math.exp(-(x - t0) / trise));
  return shape(t) / shape(tPeak);
}

interface BazinBands {
  peakMag: [number, number];
  trise: [number, number];
  tfall: [number, number];
}

function bazinSource(className: SimulatedClass, tPeak: number, p: BazinBands): SimulatedSource {
  return {
    className,
    tRef: tPeak,
    magAt: (band, jd) => magFromRelativeFlux(p.peakMag[band], bazin(jd, tPeak, p.trise[band], p.tfall[band])),
  };
}

export function makeSource(className: SimulatedClass, rng: Random, tPeak: number, bogusBand = 0): SimulatedSource {
  switch (className) {
    case 'SN Ia': {
      // Peak M_g ~ -19.2 +- 0.2 after stretch (Phillips 1993; Betoule et al. 2014); rise ~18 d rest frame
      // (Riess et al. 1999; Firth et al. 2015); g declines faster than r; g - r ~ -0.1 at peak.
      const z = rng.uniform(0.015, 0.12);
      const stretch = rng.uniform(0.8, 1.15);
      const dil = (1 + z) * stretch;
      const mg = -19.2 + rng.normal(0, 0.2) + distanceModulus(z) - 1.1 * (stretch - 1);
      const color = rng.normal(-0.05, 0.08);
      return bazinSource(className, tPeak, {
        peakMag: [mg, mg - color],
        trise: [3.5 * dil, 3.8 * dil],
        tfall: [18 * dil, 28 * dil],
      });
    }
    case 'SN Ibc': {
      // Stripped-envelope SNe: M_R ~ -17.6 +- 0.6, rise ~12 d, fast decline, red (Drout et al. 2011;
      // Prentice et al. 2016).
      const z = rng.uniform(0.005, 0.05);
      const dil = 1 + z;
      const mr = -17.6 + rng.normal(0, 0.6) + distanceModulus(z);
      const color = rng.normal(0.3, 0.12);
      return bazinSource(className, tPeak, {
        peakMag: [mr + color, mr],
        trise: [2.5 * dil, 2.8 * dil],
        tfall: [13 * dil * rng.uniform(0.8, 1.2), 19 * dil * rng.uniform(0.8, 1.2)],
      });
    }
    case 'SN II': {
      // Type IIP/IIL: M_V ~ -16.7 +- 1.0, plateau 80-120 d with slope 0-2 mag/100 d in r and steeper in g,
      // then a ~1.5 mag drop onto the 56Co tail (Anderson et al. 2014; Valenti et al. 2016).
      const z = rng.uniform(0.005, 0.05);
      const dil = 1 + z;
      const mr = -16.7 + rng.normal(0, 0.9) + distanceModulus(z);
      const slopeR = rng.uniform(0.0, 0.02) / dil;
      const slopeG = slopeR + rng.uniform(0.01, 0.025) / dil;
      const plateau = rng.uniform(80, 120) * dil;
      const rise = rng.uniform(1.5, 3) * dil;
      const color0 = rng.normal(-0.1, 0.1);
      return {
        className,
        tRef: tPeak,
        magAt: (band, jd) => {
          const dt = jd - tPeak;
          const riseFlux = 1 / (1 + Math.exp(-(dt + 3 * rise) / rise));
          const riseAtPeak = 1 / (1 + Math.exp(-3));
          const slope = band === 0 ? slopeG : slopeR;
          const decline = dt > 0 ? slope * dt : 0;
          const drop = 1.6 / (1 + Math.exp(-(dt - plateau) / (4 * dil)));
          const tail = dt > plateau ? 0.0098 / dil * (dt - plateau) : 0;
          const base = band === 0 ? mr + color0 : mr;
          return magFromRelativeFlux(base, riseFlux / riseAtPeak) + decline + drop + tail;
        },
      };
    }
    case 'SLSN': {
      // Superluminous SNe I: M_g ~ -21.5 +- 0.6, rest-frame rise 20-50 d, slow decline, blue at peak
      // (Gal-Yam 2012; Nicholl et al. 2015; De Cia et al. 2018).
      const z = rng.uniform(0.08, 0.5);
      const dil = 1 + z;
      const mg = -21.5 + rng.normal(0, 0.6) + distanceModulus(z);
      const trise = rng.uniform(6, 14) * dil;
      const tfall = rng.uniform(35, 80) * dil;
      return bazinSource(className, tPeak, {
        peakMag: [mg, mg + rng.normal(0.1, 0.1)],
        trise: [trise, trise * 1.1],
        tfall: [tfall, tfall * 1.3],
      });
    }
    case 'kilonova': {
      // AT2017gfo-like: peak M ~ -15.7 within ~1 d, g fading ~1 mag/d and r ~0.6 mag/d, reddening fast
      // (Arcavi et al. 2017; Kasliwal et al. 2017; Villar et al. 2017); distances 40-200 Mpc.
      const dMpc = rng.uniform(40, 200);
      const mu = 5 * Math.log10(dMpc * 1e5);
      const m = -15.8 + rng.normal(0, 0.5) + mu;
      const declineG = rng.uniform(0.8, 1.2);
      const declineR = rng.uniform(0.45, 0.75);
      return bazinSource(className, tPeak, {
        peakMag: [m, m - 0.1],
        trise: [0.15, 0.25],
        tfall: [2.5 / (declineG * Math.LN10), 2.5 / (declineR * Math.LN10)],
      });
    }
    case 'TDE': {
      // Optical TDEs: M_g ~ -19.5 +- 0.7, Gaussian rise of 10-30 d, power-law t^-5/3 decline, constant blue
      // colour g - r ~ -0.3 (van Velzen et al. 2021; Hammerstein et al. 2023).
      const z = rng.uniform(0.02, 0.15);
      const dil = 1 + z;
      const mg = -19.5 + rng.normal(0, 0.7) + distanceModulus(z);
      const sigmaRise = rng.uniform(10, 30) * dil;
      const t0 = rng.uniform(20, 60) * dil;
      const color = rng.normal(-0.3, 0.1);
      return {
        className,
        tRef: tPeak,
        magAt: (band, jd) => {
          const dt = jd - tPeak;
          const rel = dt < 0 ? Math.exp(-(dt * dt) / (2 * sigmaRise * sigmaRise)) : Math.pow(1 + dt / t0, -5 / 3);
          return magFromRelativeFlux(band === 0 ? mg : mg - color, rel);
        },
      };
    }
    case 'RR Lyrae': {
      // RRab: P = 0.45-0.8 d, V amplitude 0.5-1.2 mag with a fast rise (~15% of the cycle) and slow decline;
      // r amplitude ~0.75 of g (Smith 1995; Sesar et al. 2010). Halo distances give 14-19.5 mag.
      const period = rng.uniform(0.45, 0.8);
      const ampG = rng.uniform(0.5, 1.2);
      const mean = rng.uniform(14, 19.5);
      const color = rng.uniform(0.15, 0.35);
      const phase0 = rng.next();
      return periodicSource(className, tPeak, period, phase0, (band, ph) => {
        const amp = band === 0 ? ampG : 0.75 * ampG;
        const saw = ph < 0.15 ? 1 - ph / 0.15 : (ph - 0.15) / 0.85;
        return (band === 0 ? mean + color : mean) + amp * (saw - 0.5);
      });
    }
    case 'eclipsing binary': {
      // Detached/semi-detached EBs: P = 0.3-10 d, primary depths 0.1-1 mag, secondary up to 60% of it,
      // eclipse widths 3-10% of phase (Prsa et al. 2011; Chen et al. 2020 ZTF periodic variables).
      const period = rng.logUniform(0.3, 10);
      const d1 = rng.uniform(0.1, 1.0);
      const d2 = d1 * rng.uniform(0, 0.6);
      const w = rng.uniform(0.03, 0.1);
      const mean = rng.uniform(13.5, 19.5);
      const color = rng.uniform(0.0, 1.0);
      const phase0 = rng.next();
      return periodicSource(className, tPeak, period, phase0, (band, ph) => {
        const dip = (c: number, depth: number) => {
          const x = Math.min(Math.abs(ph - c), 1 - Math.abs(ph - c)) / w;
          return x < 1 ? depth * (1 - x * x) : 0;
        };
        const scale = band === 0 ? 1.05 : 1;
        return (band === 0 ? mean + color : mean) + scale * (dip(0, d1) + dip(0.5, d2));
      });
    }
    case 'Cepheid/LPV': {
      if (rng.next() < 0.5) {
        // Classical Cepheids: P = 3-50 d, amplitudes 0.4-1 mag, saw-tooth light curves (Soszynski et al. 2008).
        const period = rng.logUniform(3, 50);
        const ampG = rng.uniform(0.4, 1.0);
        const mean = rng.uniform(12.5, 18);
        const phase0 = rng.next();
        return periodicSource(className, tPeak, period, phase0, (band, ph) => {
          const amp = band === 0 ? ampG : 0.7 * ampG;
          const saw = ph < 0.3 ? 1 - ph / 0.3 : (ph - 0.3) / 0.7;
          return (band === 0 ? mean + 0.6 : mean) + amp * (saw - 0.5);
        });
      }
      // Mira-type long-period variables: P = 150-450 d, optical amplitudes of 2.5-6 mag, very red
      // (Whitelock et al. 2008; ZTF: Chen et al. 2020).
      const period = rng.uniform(150, 450);
      const ampG = rng.uniform(2.5, 6);
      const mean = rng.uniform(13, 17);
      const phase0 = rng.next();
      return periodicSource(className, tPeak, period, phase0, (band, ph) => {
        const amp = band === 0 ? ampG : 0.7 * ampG;
        return (band === 0 ? mean + 1.5 : mean) + 0.5 * amp * Math.cos(2 * Math.PI * ph);
      });
    }
    case 'microlensing': {
      // Paczynski (1986) point-lens curve; Einstein times 10-100 d and impact parameters up to 1 as found
      // in Galactic-bulge/plane surveys (Mroz et al. 2019, 2020); achromatic apart from blending.
      const tE = rng.logUniform(10, 100);
      const u0 = rng.uniform(0.02, 1);
      const blend = rng.uniform(0.3, 1);
      const base = rng.uniform(16.5, 20.5);
      const color = rng.uniform(0.3, 1.2);
      return {
        className,
        tRef: tPeak,
        magAt: (band, jd) => {
          const tau = (jd - tPeak) / tE;
          const u2 = u0 * u0 + tau * tau;
          const a = (u2 + 2) / Math.sqrt(u2 * (u2 + 4));
          return (band === 0 ? base + color : base) - 2.5 * Math.log10(blend * a + 1 - blend);
        },
      };
    }
    case 'AGN': {
      // Damped random walk (Kelly et al. 2009; MacLeod et al. 2010): tau 100-1000 d, SF_inf 0.1-0.35 mag,
      // larger in g than r. Realised on a 1-day grid and interpolated, so the source stays a function.
      const tau = rng.logUniform(100, 1000);
      const sf = rng.uniform(0.1, 0.35);
      const mean = rng.uniform(17.5, 20);
      const color = rng.uniform(0.1, 0.5);
      const start = tPeak - 400;
      const days = 800;
      const walk = new Float64Array(days + 1);
      const sigma = sf / Math.SQRT2;
      const decay = Math.exp(-1 / tau);
      const step = sigma * Math.sqrt(1 - decay * decay);
      walk[0] = rng.normal(0, sigma);
      for (let i = 1; i <= days; i++) walk[i] = walk[i - 1] * decay + rng.normal(0, step);
      return {
        className,
        tRef: tPeak,
        magAt: (band, jd) => {
          const x = Math.min(Math.max(jd - start, 0), days);
          const i = Math.min(Math.floor(x), days - 1);
          const v = walk[i] + (x - i) * (walk[i + 1] - walk[i]);
          return (band === 0 ? mean + color + 1.25 * v : mean + v);
        },
      };
    }
    case 'bogus': {
      // Artefacts and satellite glints: one bright detection in one band at one epoch, nothing before or
      // after (ZTF's rb/drb training sets; Duev et al. 2019). The epoch is set by the simulator.
      const mag = rng.uniform(14, 19.5);
      const band = bogusBand;
      return {
        className,
        tRef: tPeak,
        magAt: (b, jd) => (b === band && Math.abs(jd - tPeak) < 1e-6 ? mag : Infinity),
      };
    }
  }
}

function periodicSource(
  className: SimulatedClass, tRef: number, period: number, phase0: number,
  shape: (band: number, phase: number) => number,
): SimulatedSource {
  return {
    className,
    tRef,
    magAt: (band, jd) => {
      const x = (jd - tRef) / period + phase0;
      return shape(band, x - Math.floor(x));
    },
  };
}
