import { LightCurveBuilder } from './lightcurve.ts';
import type { Alert, CandidateMeta, Cutout, Cutouts } from './types.ts';
import { ZTF_BANDS } from './types.ts';
import type { FieldFilter } from './avroDecoder.ts';
import { asBytes, bigId, isRecord, num, numValue, requiredNum, requiredNumValue, requiredString, scalarFields, type RawRecord } from './values.ts';

const PACKET_FIELDS = new Set([
  'objectId', 'candid', 'candidate', 'prv_candidates', 'cutoutScience', 'cutoutTemplate', 'cutoutDifference',
  'fp_hists', 'schemavsn', 'publisher',
]);

function diffposSign(v: unknown): number {
  if (v === 't' || v === '1' || v === 1 || v === true) return 1;
  if (v === 'f' || v === '0' || v === 0 || v === false) return -1;
  return 0;
}

function fidToBand(fid: number, where: string): number {
  if (!(fid >= 1 && fid <= 3) || !Number.isInteger(fid)) throw new TypeError(`${where}: fid ${fid} is not a ZTF filter (1, 2, 3)`);
  return fid - 1;
}

function cutout(v: unknown): Cutout | undefined {
  if (v === null || v === undefined) return undefined;
  if (isRecord(v)) {
    const bytes = asBytes(v.stampData);
    if (!bytes) return undefined;
    return { fileName: typeof v.fileName === 'string' ? v.fileName : '', bytes };
  }
  const bytes = asBytes(v);
  return bytes ? { fileName: '', bytes } : undefined;
}

function addPoint(b: LightCurveBuilder, p: RawRecord, where: string): void {
  // fields read by name, not through num(p, field): ~30 points per alert on the scorer's path
  const jd = requiredNumValue(p, p.jd, 'jd');
  const band = fidToBand(requiredNumValue(p, p.fid, 'fid'), where);
  b.addMagnitude({
    jd,
    band,
    mag: numValue(p.magpsf, 'magpsf'),
    magErr: numValue(p.sigmapsf, 'sigmapsf'),
    limitMag: numValue(p.diffmaglim, 'diffmaglim'),
    isdiffpos: diffposSign(p.isdiffpos),
    distnr: numValue(p.distnr, 'distnr'),
    magnr: numValue(p.magnr, 'magnr'),
    sigmagnr: numValue(p.sigmagnr, 'sigmagnr'),
  });
}

/**
 * Maps a ZTF alert packet (ZTF's own schema, or Fink's with its added columns; decoded from Avro, Parquet
 * or JSON) into an Alert. Throws a TypeError naming the field when the packet is unusable.
 */
export function alertFromZtfPacket(packet: RawRecord): Alert {
  const objectId = requiredString(packet, 'objectId');
  const c = packet.candidate;
  if (!isRecord(c)) throw new TypeError("missing field 'candidate'");
  const candid = packet.candid !== undefined && packet.candid !== null ? bigId(packet, 'candid') : bigId(c, 'candid');
  const fid = requiredNum(c, 'fid');
  const bandIdx = fidToBand(fid, 'candidate');
  const magpsf = requiredNum(c, 'magpsf');

  const prv = packet.prv_candidates;
  const b = new LightCurveBuilder(ZTF_BANDS, 'mag', true, false, (Array.isArray(prv) ? prv.length : 0) + 1);
  if (prv !== null && prv !== undefined) {
    if (!Array.isArray(prv)) throw new TypeError("field 'prv_candidates' is not a list");
    prv.forEach((p, i) => {
      if (!isRecord(p)) throw new TypeError(`prv_candidates[${i}] is not a record`);
      try {
        addPoint(b, p, `prv_candidates[${i}]`);
      } catch (e) {
        throw new TypeError(`prv_candidates[${i}]: ${(e as Error).message}`);
      }
    });
  }
  addPoint(b, c, 'candidate');

  const isdiffpos = c.isdiffpos === 't' || c.isdiffpos === '1' ? 't' : c.isdiffpos === 'f' || c.isdiffpos === '0' ? 'f' : null;
  const candidate: CandidateMeta = {
    jd: requiredNum(c, 'jd'),
    band: ZTF_BANDS[bandIdx],
    fid,
    magpsf,
    sigmapsf: num(c, 'sigmapsf'),
    isdiffpos,
    rb: num(c, 'rb'),
    drb: num(c, 'drb'),
    sgscore1: num(c, 'sgscore1'),
    distpsnr1: num(c, 'distpsnr1'),
    ssdistnr: num(c, 'ssdistnr'),
    ndethist: num(c, 'ndethist'),
    classtar: num(c, 'classtar'),
    diffmaglim: num(c, 'diffmaglim'),
  };
  const cutouts: Cutouts = {
    science: cutout(packet.cutoutScience),
    template: cutout(packet.cutoutTemplate),
    difference: cutout(packet.cutoutDifference),
  };
  return {
    survey: 'ztf',
    objectId,
    candid,
    ra: requiredNum(c, 'ra'),
    dec: requiredNum(c, 'dec'),
    candidate,
    lightCurve: b.build(),
    cutouts,
    extra: scalarFields(packet, PACKET_FIELDS),
    raw: c,
  };
}

/** What scoring reads of a ZTF packet: the light curve, the candidate's context, the broker columns. */
const LEAN_POINT_FIELDS = new Set(['jd', 'fid', 'magpsf', 'sigmapsf', 'diffmaglim', 'isdiffpos', 'distnr', 'magnr', 'sigmagnr']);
const LEAN_CANDIDATE_FIELDS = new Set([
  ...LEAN_POINT_FIELDS, 'candid', 'ra', 'dec', 'rb', 'drb', 'sgscore1', 'distpsnr1', 'ssdistnr', 'ndethist', 'classtar',
]);
const LEAN_DROPPED_TOP = new Set(['cutoutScience', 'cutoutTemplate', 'cutoutDifference', 'fp_hists']);

/**
 * The fields scoring reads of a ZTF packet, for the Avro decoder: no stamps, no forced-photometry history,
 * and none of the ~90 candidate fields that no extractor or cut reads (the broker scorer decodes several
 * times faster). Null for a schema that is not ZTF's alert schema.
 */
export function ztfLeanFields(writer: unknown): FieldFilter | null {
  return leanFilter(writer, LEAN_CANDIDATE_FIELDS);
}

function leanFilter(writer: unknown, candidateFields: ReadonlySet<string>): FieldFilter | null {
  if (!isRecord(writer) || writer.type !== 'record' || !Array.isArray(writer.fields)) return null;
  const top = writer.fields as Array<Record<string, unknown>>;
  if (!top.some((f) => f.name === 'candidate') || !top.some((f) => f.name === 'objectId')) return null;
  return (record, field, isTop) => (isTop ? !LEAN_DROPPED_TOP.has(field)
    : record === 'candidate' ? candidateFields.has(field) : record === 'prv_candidate' ? LEAN_POINT_FIELDS.has(field) : true);
}

const leanKeeping = new Map<string, (writer: unknown) => FieldFilter | null>();
/** The same by list, for frozen lists (whose contents cannot change under the cache). */
const leanKeepingByList = new WeakMap<readonly string[], (writer: unknown) => FieldFilter | null>();

/**
 * The lean field filter plus the candidate fields that modules read (a declaration's alert features and
 * cuts): one factory per set of fields, so decoders compiled for it are cached like the plain lean one.
 */
export function ztfLeanFieldsKeeping(keep: readonly string[]): (writer: unknown) => FieldFilter | null {
  if (!keep.length) return ztfLeanFields;
  // a scorer asks once per message with the same frozen list: no key to build then
  const frozen = Object.isFrozen(keep);
  const known = frozen ? leanKeepingByList.get(keep) : undefined;
  if (known) return known;
  const key = [...new Set(keep)].sort().join(',');
  let f = leanKeeping.get(key);
  if (!f) {
    const fields = new Set([...LEAN_CANDIDATE_FIELDS, ...keep]);
    leanKeeping.set(key, (f = (writer: unknown) => leanFilter(writer, fields)));
  }
  if (frozen) leanKeepingByList.set(keep, f);
  return f;
}
