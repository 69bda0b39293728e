/**
 * A compiled Avro binary decoder that materialises only the fields a caller keeps and skips the rest in
 * place (a skipped double is `pos += 8`, a skipped array block with a byte size is one jump). The broker
 * scorer reads ~10 of the ~100 fields of each ZTF light-curve point; avsc's resolver still walks every
 * skipped union through its generic type objects, which made decoding the scorer's main cost.
 * Longs are decoded as bigint (alert ids exceed 2^53), as the avsc path does.
 *
 * Every datum is decoded within a budget, because messages come from the network: a length or a block count
 * is checked against the bytes left before anything is allocated (an array of N items whose items take at
 * least k bytes each needs N·k bytes), the items of all arrays and maps of one datum together are capped
 * (items that take no bytes, such as `null`, are bounded by that cap alone), varints are at most 10 bytes,
 * and the datum has a wall-clock budget. A datum over budget throws an AvroDecodeError saying which limit.
 */

/** A datum that breaks the decoder's limits or is not an encoding of its schema. */
export class AvroDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AvroDecodeError';
  }
}

export interface AvroDecodeLimits {
  /** Array items and map entries in one datum, all levels together. */
  maxItems: number;
  /** Wall-clock budget for one datum, in milliseconds. */
  maxMs: number;
}

/**
 * A Rubin alert with a year of history holds a few thousand sources; a ZTF alert ~30 points. A million items
 * is far beyond both and still decodes in well under a second.
 */
export const DEFAULT_AVRO_LIMITS: AvroDecodeLimits = { maxItems: 1 << 20, maxMs: 2000 };

interface Cursor {
  buf: Buffer;
  /** The same bytes, for reading floats (inlined by the compiler, unlike Buffer's readDoubleLE). */
  dv: DataView;
  pos: number;
  /** Items (array elements, map entries) this datum may still hold. */
  items: number;
  /** Date.now() after which the datum is abandoned. */
  deadline: number;
}

type Read = (c: Cursor) => unknown;
type Skip = (c: Cursor) => void;
interface Codec {
  read: Read;
  skip: Skip;
  /** The fewest bytes an encoding of this type takes (a lower bound; 0 for null and recursive references). */
  min: number;
  /** A union's branches, in order. */
  branches?: readonly Codec[];
}

/** Keep a field? `record` is the record's short name, `top` is true for the outermost record. */
export type FieldFilter = (record: string, field: string, top: boolean) => boolean;

function truncated(c: Cursor, pos = c.pos): never {
  throw new AvroDecodeError(`the datum ends inside a value (byte ${pos} of ${c.buf.length})`);
}

function readLongNumber(c: Cursor): number {
  // zigzag varint; lengths and counts fit in a double
  let n = 0;
  let shift = 1;
  let b: number;
  const start = c.pos;
  do {
    if (c.pos >= c.buf.length) truncated(c);
    if (c.pos - start >= 10) throw new AvroDecodeError(`varint longer than 10 bytes at byte ${start}`);
    b = c.buf[c.pos++];
    n += (b & 0x7f) * shift;
    shift *= 128;
  } while (b & 0x80);
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function readLongBig(c: Cursor): bigint {
  let n = 0n;
  let shift = 0n;
  let b: number;
  const start = c.pos;
  do {
    if (c.pos >= c.buf.length) truncated(c);
    if (c.pos - start >= 10) throw new AvroDecodeError(`varint longer than 10 bytes at byte ${start}`);
    b = c.buf[c.pos++];
    n |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80);
  return BigInt.asIntN(64, (n >> 1n) ^ -(n & 1n));
}

function skipVarint(c: Cursor): void {
  const start = c.pos;
  while (c.buf[c.pos++] & 0x80) if (c.pos - start >= 10) throw new AvroDecodeError(`varint longer than 10 bytes at byte ${start}`);
}

/** The length of a bytes or string value, checked against what is left. */
function readLength(c: Cursor, what: string): number {
  const at = c.pos;
  const n = readLongNumber(c);
  if (n < 0) throw new AvroDecodeError(`${what} of negative length ${n} at byte ${at}`);
  if (n > c.buf.length - c.pos) throw new AvroDecodeError(`${what} of ${n} bytes at byte ${at}, only ${c.buf.length - c.pos} left`);
  return n;
}

/** A fixed-width number: read it, or skip its bytes. */
function fixedWidth(width: number, get: (buf: Buffer, pos: number) => number): Codec {
  return {
    read: (c) => {
      if (c.pos + width > c.buf.length) truncated(c);
      const v = get(c.buf, c.pos);
      c.pos += width;
      return v;
    },
    skip: (c) => void (c.pos += width),
    min: width,
  };
}

const skipLength = (what: string): Skip => (c) => {
  // read the length before moving: `c.pos += f(c)` would add to the position from before f ran
  const n = readLength(c, what);
  c.pos += n;
};

const PRIMITIVES: Record<string, Codec> = {
  null: { read: () => null, skip: () => {}, min: 0 },
  boolean: { read: (c) => (c.pos >= c.buf.length ? truncated(c) : c.buf[c.pos++] === 1), skip: (c) => void c.pos++, min: 1 },
  int: { read: readLongNumber, skip: skipVarint, min: 1 },
  long: { read: readLongBig, skip: skipVarint, min: 1 },
  float: fixedWidth(4, (b, p) => b.readFloatLE(p)),
  double: fixedWidth(8, (b, p) => b.readDoubleLE(p)),
  bytes: {
    read: (c) => {
      const n = readLength(c, 'bytes');
      const v = Buffer.from(c.buf.subarray(c.pos, c.pos + n));
      c.pos += n;
      return v;
    },
    skip: skipLength('bytes'),
    min: 1,
  },
  string: {
    read: (c) => {
      const n = readLength(c, 'string');
      const v = c.buf.toString('utf8', c.pos, c.pos + n);
      c.pos += n;
      return v;
    },
    skip: skipLength('string'),
    min: 1,
  },
};

/**
 * The item count of the next array or map block, checked against the datum's budget and the bytes left
 * before a single item is decoded; 0 ends the value. `byteSize` receives the block's size in bytes when the
 * writer gave one (negative count), else -1.
 */
function blockCount(c: Cursor, itemMin: number, what: string, sized: { byteSize: number }): number {
  const at = c.pos;
  let n = readLongNumber(c);
  sized.byteSize = -1;
  if (n === 0) return 0;
  if (n < 0) {
    n = -n;
    const size = readLongNumber(c);
    if (size < 0 || size > c.buf.length - c.pos) throw new AvroDecodeError(`${what} block at byte ${at} says it takes ${size} bytes, ${c.buf.length - c.pos} left`);
    sized.byteSize = size;
  }
  if (n * itemMin > c.buf.length - c.pos) throw new AvroDecodeError(`${what} block of ${n} items at byte ${at} needs at least ${n * itemMin} bytes, ${c.buf.length - c.pos} left`);
  if (n > c.items) throw new AvroDecodeError(`${what} block of ${n} items at byte ${at}: more than the ${c.items} items left of the datum's budget`);
  c.items -= n;
  if (Date.now() > c.deadline) throw new AvroDecodeError(`${what} at byte ${at}: over the datum's time budget`);
  return n;
}

type Schema = string | Schema[] | { type: string; [k: string]: unknown };

/** Avro's own rule for names (and so field names): no `__proto__` tricks get that far either. */
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function schemaError(message: string): never {
  throw new AvroDecodeError(message);
}

export type AvroDatumDecoder = ((buf: Buffer, pos: number) => { value: unknown; offset: number }) & {
  /** The fewest bytes one datum takes (0 when a datum may be empty, e.g. the schema "null"). */
  readonly minBytes: number;
};

/**
 * Records are decoded from a plan, one op per field, compiled into a function per record type. Most fields of a
 * survey's alert schema are a primitive or a union of null and a primitive (ZTF's ~100 candidate fields,
 * repeated for each of ~30 history points): those are read or skipped inline, rather than by two closure calls
 * each (the union's, then its branch's) that load and store the cursor, which made such records the decoder's
 * main cost. Other fields go through their codec.
 */
const P_NONE = 0;
const P_NULL = 1;
const P_BOOLEAN = 2;
const P_INT = 3;
const P_LONG = 4;
const P_FLOAT = 5;
const P_DOUBLE = 6;
const P_STRING = 7;
const P_BYTES = 8;
const KIND_MASK = 15;
/** The field is kept (else skipped). */
const OP_KEEP = 16;
/** A union of null and the primitive: branch byte 0 or 2 (a branch index i is the zigzag varint 2i). */
const OP_NULLABLE = 32;
/** ... with null as its first branch (byte 0 is null, 2 the value); else the value is first. */
const OP_NULL_FIRST = 64;

const PRIMITIVE_KIND = new Map<Codec, number>([
  [PRIMITIVES.null, P_NULL], [PRIMITIVES.boolean, P_BOOLEAN], [PRIMITIVES.int, P_INT], [PRIMITIVES.long, P_LONG],
  [PRIMITIVES.float, P_FLOAT], [PRIMITIVES.double, P_DOUBLE], [PRIMITIVES.string, P_STRING], [PRIMITIVES.bytes, P_BYTES],
]);

/** The op of a field of this codec. */
function fieldOp(codec: Codec, keep: boolean): number {
  const k = keep ? OP_KEEP : 0;
  const plain = PRIMITIVE_KIND.get(codec);
  if (plain !== undefined) return plain | k;
  const b = codec.branches;
  if (b && b.length === 2 && (b[0] === PRIMITIVES.null) !== (b[1] === PRIMITIVES.null)) {
    const nullFirst = b[0] === PRIMITIVES.null;
    const kind = PRIMITIVE_KIND.get(b[nullFirst ? 1 : 0]);
    if (kind !== undefined && kind !== P_NULL) return kind | k | OP_NULLABLE | (nullFirst ? OP_NULL_FIRST : 0);
  }
  return P_NONE | k;
}

/**
 * The source of a record's read (`read`) or skip (`skip`) function for its plan: straight-line code, one block
 * per field, with the position in a local and each kept value in a local `v<k>`; the record is made at the end
 * as one object literal, so every record of a type gets the same shape and its stores are monomorphic. Field
 * names only appear as JSON string literals (they match NAME in any case). Fields that are neither primitives
 * nor null-or-primitive unions, and union bytes that are neither branch, go through their codec (`C[k]` for
 * the field, `V[k]` for a nullable union's value branch), which reads the bytes again and says what is wrong.
 */
function recordSource(ops: Int32Array, names: readonly string[], reading: boolean): string {
  const lines: string[] = ['const buf = c.buf; const dv = c.dv; const len = buf.length; let pos = c.pos; let b = 0;'];
  const kept: number[] = [];
  // consecutive skipped fixed-width fields add up into one jump
  let pendingSkip = 0;
  const flush = () => {
    if (pendingSkip) lines.push(`pos += ${pendingSkip};`);
    pendingSkip = 0;
  };
  const varintSkip = 'for (const s = pos; buf[pos++] & 0x80;) if (pos - s >= 10) varintTooLong(s);';
  const viaCodec = (k: number, codec: string, keep: boolean) => `c.pos = pos; ${keep ? `v${k} = ${codec}[${k}].read(c);` : `${codec}[${k}].skip(c);`} pos = c.pos;`;
  /** The value of field k (kind `kind`), read into v<k> or skipped; `codec` is the fallback's table. */
  const value = (k: number, kind: number, keep: boolean, codec: string): string => {
    switch (kind) {
      case P_NULL:
        return '';
      case P_BOOLEAN:
        return keep ? `if (pos >= len) truncated(c, pos); v${k} = buf[pos++] === 1;` : 'pos += 1;';
      case P_FLOAT:
      case P_DOUBLE: {
        const width = kind === P_FLOAT ? 4 : 8;
        return keep ? `if (pos + ${width} > len) truncated(c, pos); v${k} = dv.${width === 4 ? 'getFloat32' : 'getFloat64'}(pos, true); pos += ${width};` : `pos += ${width};`;
      }
      case P_INT:
        // one byte (|value| < 64) inline; longer varints, and the end of the bytes, through readLongNumber
        return keep ? `b = buf[pos]; if (b < 128) { pos++; v${k} = b & 1 ? -(b + 1) / 2 : b / 2; } else { c.pos = pos; v${k} = readLongNumber(c); pos = c.pos; }` : varintSkip;
      case P_LONG:
        return keep ? `c.pos = pos; v${k} = readLongBig(c); pos = c.pos;` : varintSkip;
      case P_STRING:
        // a one-character ASCII string (ZTF's isdiffpos 't'/'f' at every point) from a table, not a new string
        return keep ? `if (buf[pos] === 2 && pos + 1 < len && buf[pos + 1] < 128) { v${k} = ASCII[buf[pos + 1]]; pos += 2; } else { ${viaCodec(k, codec, true)} }` : viaCodec(k, codec, false);
      default:
        return viaCodec(k, codec, keep);
    }
  };
  for (let k = 0; k < ops.length; k++) {
    const f = ops[k];
    const keep = reading && (f & OP_KEEP) !== 0;
    if (keep) {
      kept.push(k);
      lines.push(`let v${k} = null;`);
    }
    const kind = f & KIND_MASK;
    if (!(f & OP_NULLABLE) && !keep && (kind === P_FLOAT || kind === P_DOUBLE || kind === P_BOOLEAN)) {
      pendingSkip += kind === P_FLOAT ? 4 : kind === P_DOUBLE ? 8 : 1;
      continue;
    }
    flush();
    if (f & OP_NULLABLE) {
      const valueByte = f & OP_NULL_FIRST ? 2 : 0;
      lines.push(`b = buf[pos];`, `if (b === ${valueByte}) { pos++; ${value(k, kind, keep, 'V')} }`,
        `else if (b === ${2 - valueByte}) pos++;`, `else { ${viaCodec(k, 'C', keep)} }`);
    } else lines.push(value(k, kind, keep, 'C'));
  }
  flush();
  lines.push('c.pos = pos;');
  if (reading) lines.push(`return { ${kept.map((k) => `${JSON.stringify(names[k])}: v${k}`).join(', ')} };`);
  return lines.join('\n');
}

const ASCII = Object.freeze(Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)));

function varintTooLong(start: number): never {
  throw new AvroDecodeError(`varint longer than 10 bytes at byte ${start}`);
}

/**
 * When a record type is compiled: after its decoder has decoded COMPILE_AFTER_DATUMS datums (a stream's schema
 * is reused by every message, so a broker compiles at its 64th message), and only for types of at most
 * COMPILE_MAX_FIELDS fields. Compiling costs V8 tens of microseconds per field; a schema seen once (a hostile
 * stream can send a new one with every message, up to MAX_SCHEMA_BYTES each) or a record of thousands of
 * fields stays on the interpreter, whose cost has no such start-up.
 */
export const COMPILE_AFTER_DATUMS = 64;
const COMPILE_MAX_FIELDS = 1024;

/** How many datums a decoder has decoded: shared by its record types, to decide when to compile them. */
interface Uses {
  datums: number;
}

function recordCodec(fields: ReadonlyArray<{ name: string; keep: boolean; codec: Codec }>, uses: Uses): Pick<Codec, 'read' | 'skip'> {
  type Run = (c: Cursor) => unknown;
  let ops: Int32Array | null = null;
  let names: string[] = [];
  /** Each field's codec (a union: the union's, which reads the branch index)... */
  let codecs: Codec[] = [];
  /** ... and the codec of its value once the branch byte is read (a nullable union: the value branch's). */
  let valueCodecs: Codec[] = [];
  let template: Record<string, unknown> = {};
  let compiledRead: Run | null = null;
  let compiledSkip: Run | null = null;
  let compileTried = false;
  // the plan is made at the first datum, when the fields (and so the codecs of records that refer to this one) are all built
  const plan = (): Int32Array => {
    names = fields.map((f) => f.name);
    codecs = fields.map((f) => f.codec);
    valueCodecs = fields.map((f) => (fieldOp(f.codec, false) & OP_NULLABLE ? f.codec.branches!.find((b) => b !== PRIMITIVES.null)! : f.codec));
    // the kept fields in order, each null until read: a copy of it has all its properties from the start
    template = Object.create(null) as Record<string, unknown>;
    for (const f of fields) if (f.keep) template[f.name] = null;
    template = { ...template };
    return (ops = Int32Array.from(fields, (f) => fieldOp(f.codec, f.keep)));
  };
  const compile = (op: Int32Array): void => {
    compileTried = true;
    if (op.length > COMPILE_MAX_FIELDS) return;
    const make = (reading: boolean) => new Function('C', 'V', 'truncated', 'readLongNumber', 'readLongBig', 'varintTooLong', 'ASCII',
      `return function ${reading ? 'readRecord' : 'skipRecord'}(c) {\n${recordSource(op, names, reading)}\n};`)(codecs, valueCodecs, truncated, readLongNumber, readLongBig, varintTooLong, ASCII) as Run;
    compiledRead = make(true);
    compiledSkip = make(false);
  };
  /** The interpreter: one loop over the plan, the position in a local. */
  const run = (c: Cursor, o: Record<string, unknown> | null): void => {
    const op = ops ?? plan();
    const buf = c.buf;
    const n = op.length;
    let pos = c.pos;
    for (let k = 0; k < n; k++) {
      const f = op[k];
      const keep = o !== null && (f & OP_KEEP) !== 0;
      let kind = f & KIND_MASK;
      if (f & OP_NULLABLE) {
        const b = buf[pos];
        if (b === ((f & OP_NULL_FIRST) ? 2 : 0)) pos++;
        else if (b === ((f & OP_NULL_FIRST) ? 0 : 2)) {
          pos++;
          if (keep) o[names[k]] = null;
          continue;
        } else kind = P_NONE; // another branch index, a longer varint or the end: the union's codec says what is wrong
      }
      switch (kind) {
        case P_FLOAT:
        case P_DOUBLE: {
          const width = kind === P_FLOAT ? 4 : 8;
          if (keep) {
            if (pos + width > buf.length) truncated(c, pos);
            o[names[k]] = width === 4 ? buf.readFloatLE(pos) : buf.readDoubleLE(pos);
          }
          pos += width;
          break;
        }
        case P_INT:
          if (keep) {
            c.pos = pos;
            o[names[k]] = readLongNumber(c);
            pos = c.pos;
          } else {
            const start = pos;
            while (buf[pos++] & 0x80) if (pos - start >= 10) varintTooLong(start);
          }
          break;
        default: {
          const codec = kind === P_NONE ? codecs[k] : valueCodecs[k];
          c.pos = pos;
          if (keep) o[names[k]] = codec.read(c);
          else codec.skip(c);
          pos = c.pos;
        }
      }
    }
    c.pos = pos;
  };
  return {
    read: (c) => {
      if (compiledRead !== null) return compiledRead(c);
      const op = ops ?? plan();
      if (!compileTried && uses.datums >= COMPILE_AFTER_DATUMS) {
        compile(op);
        if (compiledRead !== null) return (compiledRead as Run)(c);
      }
      // filled in place rather than grown field by field: each added property would change the object's shape
      const o: Record<string, unknown> = { ...template };
      run(c, o);
      return o;
    },
    skip: (c) => {
      if (compiledSkip !== null) return void compiledSkip(c);
      const op = ops ?? plan();
      if (!compileTried && uses.datums >= COMPILE_AFTER_DATUMS) {
        compile(op);
        if (compiledSkip !== null) return void (compiledSkip as Run)(c);
      }
      run(c, null);
    },
  };
}

/**
 * Compiles a decoder for the writer's schema; records keep only the fields `keep` accepts. A schema that is
 * not valid Avro (unknown type or name, a malformed record, enum or fixed) throws an AvroDecodeError.
 */
export function compileAvroDecoder(schema: unknown, keep: FieldFilter = () => true, limits: AvroDecodeLimits = DEFAULT_AVRO_LIMITS): AvroDatumDecoder {
  const named = new Map<string, Codec>();
  const references: string[][] = [];
  const uses: Uses = { datums: 0 };
  const build = (s: Schema, namespace: string, top: boolean): Codec => {
    if (typeof s === 'string') {
      if (Object.hasOwn(PRIMITIVES, s)) return PRIMITIVES[s];
      const full = s.includes('.') ? s : namespace ? `${namespace}.${s}` : s;
      const known = named.get(full) ?? named.get(s);
      if (known) return known;
      // a reference to a type being defined (recursion) or defined further on: late-bound, checked below
      references.push([full, s]);
      return { read: (c) => (named.get(full) ?? named.get(s))!.read(c), skip: (c) => (named.get(full) ?? named.get(s))!.skip(c), min: 0 };
    }
    if (Array.isArray(s)) {
      if (s.length === 0) schemaError('a union with no branches');
      const branches = s.map((b) => build(b, namespace, false));
      const branch = (c: Cursor): Codec => {
        const at = c.pos;
        const i = readLongNumber(c);
        const b = branches[i];
        if (b === undefined) throw new AvroDecodeError(`union branch ${i} at byte ${at}: the union has ${branches.length}`);
        return b;
      };
      return { read: (c) => branch(c).read(c), skip: (c) => branch(c).skip(c), min: 1 + Math.min(...branches.map((b) => b.min)), branches };
    }
    if (s === null || typeof s !== 'object') schemaError(`${JSON.stringify(s)} is not a type`);
    const t = s.type;
    if (typeof t !== 'string') {
      if (Array.isArray(t) || (t !== null && typeof t === 'object')) return build(t as Schema, namespace, top);
      schemaError(`type ${JSON.stringify(t)} is not a type`);
    }
    if (Object.hasOwn(PRIMITIVES, t)) return PRIMITIVES[t];
    const name = typeof s.name === 'string' ? s.name : '';
    const ns = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : typeof s.namespace === 'string' ? s.namespace : namespace;
    const full = name.includes('.') ? name : ns && name ? `${ns}.${name}` : name;
    const short = name.split('.').pop() ?? '';
    let codec: Codec;
    switch (t) {
      case 'record':
      case 'error': {
        if (!Array.isArray(s.fields)) schemaError(`record '${name}' has no field list`);
        // registered before its fields are built, so that a field may refer to the record itself
        const fields: Array<{ name: string; keep: boolean; codec: Codec }> = [];
        codec = { ...recordCodec(fields, uses), min: 0 };
        if (full) named.set(full, codec);
        for (const f of s.fields as Array<{ name?: unknown; type?: unknown }>) {
          if (f === null || typeof f !== 'object' || typeof f.name !== 'string' || !NAME.test(f.name) || f.name === '__proto__') schemaError(`record '${name}' has a field without a valid name`);
          fields.push({ name: f.name, keep: keep(short, f.name, top), codec: build(f.type as Schema, ns, false) });
        }
        codec.min = fields.reduce((sum, f) => sum + f.codec.min, 0);
        break;
      }
      case 'enum': {
        const symbols = s.symbols;
        if (!Array.isArray(symbols) || symbols.some((x) => typeof x !== 'string')) schemaError(`enum '${name}' has no symbol list`);
        codec = {
          read: (c) => {
            const at = c.pos;
            const i = readLongNumber(c);
            if (!(i >= 0 && i < symbols.length)) throw new AvroDecodeError(`enum index ${i} at byte ${at}: '${name}' has ${symbols.length} symbols`);
            return symbols[i];
          },
          skip: skipVarint,
          min: 1,
        };
        break;
      }
      case 'fixed': {
        const size = s.size;
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) schemaError(`fixed '${name}' has no valid size`);
        codec = {
          read: (c) => {
            if (c.pos + size > c.buf.length) truncated(c);
            const v = Buffer.from(c.buf.subarray(c.pos, c.pos + size));
            c.pos += size;
            return v;
          },
          skip: (c) => void (c.pos += size),
          min: size,
        };
        break;
      }
      case 'array':
      case 'map': {
        const inner = s[t === 'array' ? 'items' : 'values'];
        if (inner === undefined) schemaError(`${t} without ${t === 'array' ? 'items' : 'values'}`);
        const item = build(inner as Schema, ns, false);
        codec = t === 'array' ? arrayCodec(item) : mapCodec(item);
        break;
      }
      default:
        schemaError(`type '${t}' is not supported`);
    }
    if (full) {
      named.set(full, codec);
      if (short && !named.has(short)) named.set(short, codec);
    }
    return codec;
  };
  let root: Codec;
  try {
    root = build(schema as Schema, '', true);
  } catch (e) {
    if (e instanceof RangeError) schemaError('nested too deeply');
    throw e;
  }
  for (const [full, short] of references) if (!named.has(full) && !named.has(short)) schemaError(`unknown type '${short}'`);
  const decode = (buf: Buffer, pos: number) => {
    uses.datums++;
    const c: Cursor = { buf, dv: new DataView(buf.buffer, buf.byteOffset, buf.byteLength), pos, items: limits.maxItems, deadline: Date.now() + limits.maxMs };
    let value: unknown;
    try {
      value = root.read(c);
    } catch (e) {
      // a recursive schema lets a datum nest as deep as its bytes allow
      if (e instanceof RangeError && /call stack/.test(e.message)) throw new AvroDecodeError('the datum is nested too deeply');
      throw e;
    }
    return { value, offset: c.pos > buf.length ? -1 : c.pos };
  };
  return Object.assign(decode, { minBytes: root.min });
}

function arrayCodec(item: Codec): Codec {
  const sized = { byteSize: -1 };
  return {
    read: (c) => {
      const out: unknown[] = [];
      for (;;) {
        const n = blockCount(c, item.min, 'array', sized);
        if (n === 0) break;
        for (let i = 0; i < n; i++) out.push(item.read(c));
      }
      return out;
    },
    skip: (c) => {
      for (;;) {
        const n = blockCount(c, item.min, 'array', sized);
        if (n === 0) break;
        if (sized.byteSize >= 0) c.pos += sized.byteSize;
        else for (let i = 0; i < n; i++) item.skip(c);
      }
    },
    min: 1,
  };
}

function mapCodec(item: Codec): Codec {
  const sized = { byteSize: -1 };
  const key = PRIMITIVES.string;
  return {
    read: (c) => {
      const map: Record<string, unknown> = {};
      for (;;) {
        const n = blockCount(c, 1 + item.min, 'map', sized);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const k = key.read(c) as string;
          // a key named __proto__ would replace the object's prototype instead of adding an entry
          if (k === '__proto__') Object.defineProperty(map, k, { value: item.read(c), enumerable: true, writable: true, configurable: true });
          else map[k] = item.read(c);
        }
      }
      return map;
    },
    skip: (c) => {
      for (;;) {
        const n = blockCount(c, 1 + item.min, 'map', sized);
        if (n === 0) break;
        if (sized.byteSize >= 0) c.pos += sized.byteSize;
        else {
          for (let i = 0; i < n; i++) {
            key.skip(c);
            item.skip(c);
          }
        }
      }
    },
    min: 1,
  };
}
