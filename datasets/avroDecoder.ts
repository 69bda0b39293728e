/**
 * A compiled Avro binary decoder that materialises only the fields a caller keeps and skips the rest in
 * place (a skipped double is `pos += 8`, a skipped array block with a byte size is one jump). The broker
 * scorer reads ~10 of the ~100 fields of each ZTF light-curve point; avsc's resolver still walks every
 * skipped union through its generic type objects, which made decoding the scorer's main cost.
 * Longs are decoded as bigint (alert ids exceed 2^53), as the avsc path does.
 */

interface Cursor {
  buf: Buffer;
  pos: number;
}

type Read = (c: Cursor) => unknown;
type Skip = (c: Cursor) => void;
interface Codec {
  read: Read;
  skip: Skip;
}

/** Keep a field? `record` is the record's short name, `top` is true for the outermost record. */
export type FieldFilter = (record: string, field: string, top: boolean) => boolean;

function readLongNumber(c: Cursor): number {
  // zigzag varint; lengths and counts fit in a double
  let n = 0;
  let shift = 1;
  let b: number;
  do {
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
  do {
    b = c.buf[c.pos++];
    n |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  } while (b & 0x80);
  return (n >> 1n) ^ -(n & 1n);
}

function skipVarint(c: Cursor): void {
  while (c.buf[c.pos++] & 0x80);
}

/** A fixed-width number: read it, or skip its bytes. */
function fixedWidth(width: number, get: (buf: Buffer, pos: number) => number): Codec {
  return {
    read: (c) => {
      const v = get(c.buf, c.pos);
      c.pos += width;
      return v;
    },
    skip: (c) => void (c.pos += width),
  };
}

const PRIMITIVES: Record<string, Codec> = {
  null: { read: () => null, skip: () => {} },
  boolean: { read: (c) => c.buf[c.pos++] === 1, skip: (c) => void c.pos++ },
  int: { read: readLongNumber, skip: skipVarint },
  long: { read: readLongBig, skip: skipVarint },
  float: fixedWidth(4, (b, p) => b.readFloatLE(p)),
  double: fixedWidth(8, (b, p) => b.readDoubleLE(p)),
  bytes: {
    read: (c) => {
      const n = readLongNumber(c);
      const v = Buffer.from(c.buf.subarray(c.pos, c.pos + n));
      c.pos += n;
      return v;
    },
    skip: (c) => {
      // read the length before moving: `c.pos += f(c)` would add to the position from before f ran
      const n = readLongNumber(c);
      c.pos += n;
    },
  },
  string: {
    read: (c) => {
      const n = readLongNumber(c);
      const v = c.buf.toString('utf8', c.pos, c.pos + n);
      c.pos += n;
      return v;
    },
    skip: (c) => {
      // read the length before moving: `c.pos += f(c)` would add to the position from before f ran
      const n = readLongNumber(c);
      c.pos += n;
    },
  },
};

type Schema = string | Schema[] | { type: string; [k: string]: unknown };

/** Compiles a decoder for the writer's schema; records keep only the fields `keep` accepts. */
export function compileAvroDecoder(schema: unknown, keep: FieldFilter = () => true): (buf: Buffer, pos: number) => { value: unknown; offset: number } {
  const named = new Map<string, Codec>();
  const build = (s: Schema, namespace: string, top: boolean): Codec => {
    if (typeof s === 'string') {
      if (PRIMITIVES[s]) return PRIMITIVES[s];
      const full = s.includes('.') ? s : namespace ? `${namespace}.${s}` : s;
      // a reference to a named type defined earlier; late-bound, since it may be defined further on
      return { read: (c) => (named.get(full) ?? named.get(s))!.read(c), skip: (c) => (named.get(full) ?? named.get(s))!.skip(c) };
    }
    if (Array.isArray(s)) {
      const branches = s.map((b) => build(b, namespace, false));
      return { read: (c) => branches[readLongNumber(c)].read(c), skip: (c) => branches[readLongNumber(c)].skip(c) };
    }
    const t = s.type;
    if (PRIMITIVES[t] && t !== 'record') return PRIMITIVES[t];
    const name = typeof s.name === 'string' ? s.name : '';
    const ns = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : typeof s.namespace === 'string' ? s.namespace : namespace;
    const full = name.includes('.') ? name : ns && name ? `${ns}.${name}` : name;
    const short = name.split('.').pop() ?? '';
    let codec: Codec;
    switch (t) {
      case 'record': {
        const fields = (s.fields as Array<{ name: string; type: Schema }>).map((f) => ({ name: f.name, keep: keep(short, f.name, top), codec: build(f.type, ns, false) }));
        codec = {
          read: (c) => {
            const o: Record<string, unknown> = {};
            for (const f of fields) {
              if (f.keep) o[f.name] = f.codec.read(c);
              else f.codec.skip(c);
            }
            return o;
          },
          skip: (c) => {
            for (const f of fields) f.codec.skip(c);
          },
        };
        break;
      }
      case 'enum': {
        const symbols = s.symbols as string[];
        codec = { read: (c) => symbols[readLongNumber(c)], skip: skipVarint };
        break;
      }
      case 'fixed': {
        const size = s.size as number;
        codec = {
          read: (c) => {
            const v = Buffer.from(c.buf.subarray(c.pos, c.pos + size));
            c.pos += size;
            return v;
          },
          skip: (c) => void (c.pos += size),
        };
        break;
      }
      case 'array':
      case 'map': {
        const item = build(s[t === 'array' ? 'items' : 'values'] as Schema, ns, false);
        const isMap = t === 'map';
        codec = {
          read: (c) => {
            const out: unknown[] = [];
            const map: Record<string, unknown> = {};
            for (;;) {
              let n = readLongNumber(c);
              if (n === 0) break;
              if (n < 0) {
                n = -n;
                readLongNumber(c); // block size in bytes
              }
              for (let i = 0; i < n; i++) {
                if (isMap) map[PRIMITIVES.string.read(c) as string] = item.read(c);
                else out.push(item.read(c));
              }
            }
            return isMap ? map : out;
          },
          skip: (c) => {
            for (;;) {
              let n = readLongNumber(c);
              if (n === 0) break;
              if (n < 0) {
                const size = readLongNumber(c);
                c.pos += size;
                continue;
              }
              for (let i = 0; i < n; i++) {
                if (isMap) PRIMITIVES.string.skip(c);
                item.skip(c);
              }
            }
          },
        };
        break;
      }
      default:
        throw new Error(`Avro type '${t}' is not supported`);
    }
    if (full) {
      named.set(full, codec);
      if (short && !named.has(short)) named.set(short, codec);
    }
    return codec;
  };
  const root = build(schema as Schema, '', true);
  return (buf, pos) => {
    const c = { buf, pos };
    const value = root.read(c);
    return { value, offset: c.pos > buf.length ? -1 : c.pos };
  };
}
