/**
 * Numbers as what they are: a time to 1e-4 day, a sky angle to 1e-6 degree, an id or a count as its exact integer, any other measurement
 * with four significant digits (fixed notation where that is readable) and its unit. Values arrive from the
 * API as JSON: ids beyond 2^53 come as strings and are shown as they are.
 */

/** ZTF writes -999 (and -99 in a few fields) where a value is missing: show a dash, not a number. */
export function isSentinel(v: unknown): boolean {
  return v === -999 || v === -99;
}

/** Units whose values are dates: shown to 1e-4 day (8.6 s), never rounded to a few significant digits. */
const TIME_UNITS = new Set(['MJD', 'JD']);
/** Angles on the sky to 1e-6 degree (4 milliarcseconds). */
const ANGLE_UNITS = new Set(['deg']);

/** Four significant digits (trailing zeros kept); fixed notation from 1e-3 to 1e9 (all the integer digits of a large value are kept), exponent outside. */
export function significant(v: number, digits = 4): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e9) return v.toExponential(digits - 1);
  // trailing zeros are significant (0.99999988 is 1.000, not an exact 1); a large value keeps all its integer digits
  const p = v.toPrecision(digits);
  return a >= 10 ** digits || p.includes('e') ? v.toFixed(0) : p;
}

/**
 * One value for display: '—' for missing, text as it is, an integer exactly, a time (unit MJD or JD) to
 * four decimals, anything else to four significant digits.
 */
export function formatValue(v: number | string | boolean | null | undefined, unit: string | null = null): string {
  if (v === null || v === undefined || isSentinel(v)) return '—';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '—';
  if (unit && TIME_UNITS.has(unit)) return v.toFixed(4);
  if (unit && ANGLE_UNITS.has(unit)) return v.toFixed(6);
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return v.toString();
  return significant(v);
}

/** A value with its unit ('12.35 nJy'), or the dash alone. */
export function withUnit(v: number | string | boolean | null | undefined, unit: string | null): string {
  const text = formatValue(v, unit);
  return unit && text !== '—' && typeof v === 'number' ? `${text} ${unit}` : text;
}

/** A Julian Date as MJD to 1e-4 day. */
export function mjdText(jd: number): string {
  return (jd - 2400000.5).toFixed(4);
}

/** Bands in wavelength order (Rubin u g r i z y; ZTF g r i), unknown ones after. */
const WAVELENGTH_ORDER = ['u', 'g', 'r', 'i', 'z', 'y'];
export function byWavelength(a: string, b: string): number {
  const ia = WAVELENGTH_ORDER.indexOf(a);
  const ib = WAVELENGTH_ORDER.indexOf(b);
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
}

/**
 * Per-band features (`<feature>_<band>` for two bands or more) as one row per feature and one column per band,
 * bands in wavelength order; null when the columns are not per band.
 */
export function perBandGrid<T extends { name: string }>(features: readonly T[]): { bands: string[]; rows: Array<{ feature: string; cells: Array<T | null> }> } | null {
  const parsed = features.map((f) => /^(.+)_([ugrizy])$/.exec(f.name));
  if (!features.length || parsed.some((m) => m === null)) return null;
  const bands = [...new Set(parsed.map((m) => m![2]))].sort(byWavelength);
  if (bands.length < 2) return null;
  const order: string[] = [];
  const at = new Map<string, Map<string, T>>();
  features.forEach((f, i) => {
    const [, feature, band] = parsed[i]!;
    if (!at.has(feature)) {
      at.set(feature, new Map());
      order.push(feature);
    }
    at.get(feature)!.set(band, f);
  });
  return { bands, rows: order.map((feature) => ({ feature, cells: bands.map((b) => at.get(feature)!.get(b) ?? null) })) };
}
