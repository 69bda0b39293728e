/**
 * A small Python pickle writer and a safe reader, for scikit-learn model files (see sklearn.ts).
 *
 * Writer: protocol 3 opcodes (PROTO, GLOBAL, NEWOBJ, REDUCE, BUILD, MARK/SETITEMS/APPENDS, the BIN* scalar and
 * string opcodes, SHORT_BINBYTES/BINBYTES), which Python 3 and every pickle-reading library load.
 *
 * Reader: a pickle is a program for Python's unpickling machine. This one interprets the opcodes of protocols
 * 2-5 into plain JavaScript values and never calls anything: a global is only a name, and only the names in
 * `allowedGlobals` may appear; anything else (os.system, builtins.eval, ...) is refused before any object
 * is built.
 */

export type Py =
  | null
  | boolean
  | string
  | PyInt
  | PyFloat
  | PyBytes
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | PyReduce
  | PyNewObj;

export interface PyInt { kind: 'int'; value: number | bigint }
export interface PyFloat { kind: 'float'; value: number }
export interface PyBytes { kind: 'bytes'; value: Uint8Array }
export interface PyTuple { kind: 'tuple'; items: Py[] }
export interface PyList { kind: 'list'; items: Py[] }
export interface PyDict { kind: 'dict'; entries: Array<[Py, Py]> }
export interface PyGlobal { kind: 'global'; module: string; name: string }
/** callable(*args), then (when state is set) BUILD with that state. */
export interface PyReduce { kind: 'reduce'; callable: Py; args: Py; state?: Py }
/** cls.__new__(cls, *args), then BUILD with state. */
export interface PyNewObj { kind: 'newobj'; cls: Py; args: Py; state?: Py }

export const int = (value: number | bigint): PyInt => ({ kind: 'int', value });
export const float = (value: number): PyFloat => ({ kind: 'float', value });
export const bytes = (value: Uint8Array): PyBytes => ({ kind: 'bytes', value });
export const tuple = (...items: Py[]): PyTuple => ({ kind: 'tuple', items });
export const list = (items: Py[]): PyList => ({ kind: 'list', items });
export const dict = (entries: Array<[Py, Py]>): PyDict => ({ kind: 'dict', entries });
export const global = (module: string, name: string): PyGlobal => ({ kind: 'global', module, name });
export const reduce = (callable: Py, args: Py, state?: Py): PyReduce => ({ kind: 'reduce', callable, args, ...(state === undefined ? {} : { state }) });
export const newobj = (cls: Py, args: Py, state?: Py): PyNewObj => ({ kind: 'newobj', cls, args, ...(state === undefined ? {} : { state }) });

const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, NONE: 0x4e, NEWTRUE: 0x88, NEWFALSE: 0x89, BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d,
  LONG1: 0x8a, LONG4: 0x8b, BINFLOAT: 0x47, BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, UNICODE: 0x56, BINBYTES: 0x42,
  SHORT_BINBYTES: 0x43, BINBYTES8: 0x8e, BYTEARRAY8: 0x96, EMPTY_TUPLE: 0x29, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, TUPLE: 0x74,
  EMPTY_LIST: 0x5d, APPEND: 0x61, APPENDS: 0x65, LIST: 0x6c, EMPTY_DICT: 0x7d, SETITEM: 0x73, SETITEMS: 0x75, DICT: 0x64,
  GLOBAL: 0x63, STACK_GLOBAL: 0x93, REDUCE: 0x52, NEWOBJ: 0x81, NEWOBJ_EX: 0x92, BUILD: 0x62, BINPUT: 0x71, LONG_BINPUT: 0x72,
  PUT: 0x70, BINGET: 0x68, LONG_BINGET: 0x6a, GET: 0x67, MEMOIZE: 0x94, FRAME: 0x95, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  EMPTY_SET: 0x8f, ADDITEMS: 0x90, FROZENSET: 0x91, INT: 0x49, LONG: 0x4c, FLOAT: 0x46, STRING: 0x53, BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55, PERSID: 0x50, BINPERSID: 0x51, EXT1: 0x82, EXT2: 0x83, EXT4: 0x84, OBJ: 0x6f, INST: 0x69,
  NEXT_BUFFER: 0x97, READONLY_BUFFER: 0x98,
} as const;

class Out {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(1 << 16);
  private n = 0;
  byte(b: number): void {
    if (this.n === this.buf.length) this.flush();
    this.buf[this.n++] = b;
  }
  raw(b: Uint8Array): void {
    if (b.length > 4096) {
      this.flush();
      this.chunks.push(b);
      return;
    }
    for (let i = 0; i < b.length; i++) this.byte(b[i]);
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.raw(b);
  }
  flush(): void {
    if (this.n) this.chunks.push(this.buf.slice(0, this.n));
    this.n = 0;
  }
  bytes(): Uint8Array {
    this.flush();
    return Buffer.concat(this.chunks);
  }
}

/** Serialises a value graph (shared sub-objects written once and memoised, as Python's pickler does). */
export function writePickle(value: Py): Uint8Array {
  const out = new Out();
  const memo = new Map<object | string, number>();
  const utf8 = new TextEncoder();
  const put = (key: object | string) => {
    const id = memo.size;
    memo.set(key, id);
    if (id < 256) {
      out.byte(OP.BINPUT);
      out.byte(id);
    } else {
      out.byte(OP.LONG_BINPUT);
      out.u32(id);
    }
  };
  const get = (id: number) => {
    if (id < 256) {
      out.byte(OP.BINGET);
      out.byte(id);
    } else {
      out.byte(OP.LONG_BINGET);
      out.u32(id);
    }
  };
  const write = (v: Py): void => {
    if (v === null) return out.byte(OP.NONE);
    if (v === true) return out.byte(OP.NEWTRUE);
    if (v === false) return out.byte(OP.NEWFALSE);
    if (typeof v === 'string') {
      const b = utf8.encode(v);
      if (b.length < 256) {
        out.byte(OP.SHORT_BINUNICODE);
        out.byte(b.length);
      } else {
        out.byte(OP.BINUNICODE);
        out.u32(b.length);
      }
      return out.raw(b);
    }
    const seen = memo.get(v);
    if (seen !== undefined) return get(seen);
    switch (v.kind) {
      case 'int': {
        const x = v.value;
        if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 256) {
          out.byte(OP.BININT1);
          out.byte(x);
        } else if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < 65536) {
          out.byte(OP.BININT2);
          out.byte(x & 0xff);
          out.byte(x >> 8);
        } else if (typeof x === 'number' && Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31) {
          out.byte(OP.BININT);
          const b = new Uint8Array(4);
          new DataView(b.buffer).setInt32(0, x, true);
          out.raw(b);
        } else {
          // LONG1: little-endian two's complement, as short as the value allows
          let n = BigInt(x);
          const b: number[] = [];
          while (true) {
            b.push(Number(n & 0xffn));
            n >>= 8n;
            if ((n === 0n && (b[b.length - 1] & 0x80) === 0) || (n === -1n && (b[b.length - 1] & 0x80) !== 0)) break;
          }
          out.byte(OP.LONG1);
          out.byte(b.length);
          out.raw(Uint8Array.from(b));
        }
        return;
      }
      case 'float': {
        out.byte(OP.BINFLOAT);
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, v.value, false);
        return out.raw(b);
      }
      case 'bytes':
        if (v.value.length < 256) {
          out.byte(OP.SHORT_BINBYTES);
          out.byte(v.value.length);
        } else {
          out.byte(OP.BINBYTES);
          out.u32(v.value.length);
        }
        return out.raw(v.value);
      case 'tuple':
        if (v.items.length === 0) return out.byte(OP.EMPTY_TUPLE);
        if (v.items.length <= 3) {
          v.items.forEach(write);
          out.byte([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][v.items.length - 1]);
        } else {
          out.byte(OP.MARK);
          v.items.forEach(write);
          out.byte(OP.TUPLE);
        }
        return put(v);
      case 'list':
        out.byte(OP.EMPTY_LIST);
        put(v);
        if (v.items.length) {
          out.byte(OP.MARK);
          v.items.forEach(write);
          out.byte(OP.APPENDS);
        }
        return;
      case 'dict':
        out.byte(OP.EMPTY_DICT);
        put(v);
        if (v.entries.length) {
          out.byte(OP.MARK);
          for (const [k, x] of v.entries) {
            write(k);
            write(x);
          }
          out.byte(OP.SETITEMS);
        }
        return;
      case 'global': {
        const key = `global:${v.module}\n${v.name}`;
        const g = memo.get(key);
        if (g !== undefined) return get(g);
        out.byte(OP.GLOBAL);
        out.raw(utf8.encode(`${v.module}\n${v.name}\n`));
        return put(key);
      }
      case 'reduce':
      case 'newobj':
        // callable(*args) or cls.__new__(cls, *args), then __setstate__ / __dict__ update from the state
        write(v.kind === 'reduce' ? v.callable : v.cls);
        write(v.args);
        out.byte(v.kind === 'reduce' ? OP.REDUCE : OP.NEWOBJ);
        put(v);
        if (v.state !== undefined) {
          write(v.state);
          out.byte(OP.BUILD);
        }
        return;
    }
  };
  out.byte(OP.PROTO);
  out.byte(3);
  write(value);
  out.byte(OP.STOP);
  return out.bytes();
}

export interface PickleLimits {
  /** Values on the stack, in the memo and in containers, all counted together. */
  maxValues: number;
}

/**
 * Fink's kilonova forest holds ~2,000 values, a 1,000-tree scikit-learn forest ~50,000 (node arrays are
 * bytes, one value each); a million is far beyond any model file and refuses a memo bomb within ~50 MB.
 */
export const DEFAULT_PICKLE_LIMITS: PickleLimits = { maxValues: 1 << 20 };

export class PickleError extends Error {
  constructor(readonly source: string, reason: string) {
    super(`${source}: ${reason}`);
    this.name = 'PickleError';
  }
}

/**
 * Reads a pickle into a Py value graph without executing anything. Refuses any global outside
 * `allowedGlobals` ("module.name") and the opcodes a data pickle never needs (persistent ids, extension
 * registry, old-style instances).
 */
export function readPickle(data: Uint8Array, allowedGlobals: ReadonlySet<string>, source = 'pickle', limits: PickleLimits = DEFAULT_PICKLE_LIMITS): Py {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const stack: Array<Py | typeof MARK_SYM> = [];
  const memo = new Map<number, Py>();
  let pos = 0;
  const fail = (reason: string): never => {
    throw new PickleError(source, `${reason} (byte ${pos})`);
  };
  // Every value put on the stack, into the memo or into a container counts against one budget: a byte of
  // pickle can add a reference (DUP, MEMOIZE, BINGET), so the file's size alone bounds nothing useful.
  let budget = limits.maxValues;
  const spend = (n: number) => {
    budget -= n;
    if (budget < 0) fail(`more than ${limits.maxValues} values (stack, memo and container items): not a model file; refused`);
  };
  const push = (v: Py | typeof MARK_SYM) => {
    spend(1);
    stack.push(v);
  };
  const need = (n: number) => {
    if (pos + n > data.length) fail('truncated');
  };
  const u8 = () => {
    need(1);
    return data[pos++];
  };
  const u16 = () => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('length too large');
    return Number(v);
  };
  const take = (n: number) => {
    need(n);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string that is not UTF-8');
    }
  };
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated line');
    const s = new TextDecoder('latin1').decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): Py => {
    const v = stack.pop();
    if (v === undefined || v === MARK_SYM) return fail('stack underflow');
    return v;
  };
  const popMark = (): Py[] => {
    const items: Py[] = [];
    for (;;) {
      const v = stack.pop();
      if (v === undefined) return fail('no MARK');
      if (v === MARK_SYM) return items.reverse();
      items.push(v);
    }
  };
  const top = (): Py => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK_SYM) return fail('stack underflow');
    return v;
  };
  const makeGlobal = (module: string, name: string): PyGlobal => {
    if (!allowedGlobals.has(`${module}.${name}`)) fail(`refers to ${module}.${name}, which a scikit-learn model file does not contain; refused, nothing was executed`);
    return global(module, name);
  };
  const signedLE = (b: Uint8Array): PyInt => {
    let n = 0n;
    for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) n -= 1n << BigInt(8 * b.length);
    return int(n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n);
  };
  for (;;) {
    const op = u8();
    switch (op) {
      case OP.PROTO: if (u8() > 5) fail('pickle protocol above 5'); break;
      case OP.FRAME: u64(); break;
      case OP.STOP: {
        const v = pop();
        if (stack.length) fail('values left on the stack at STOP');
        return v;
      }
      case OP.MARK: push(MARK_SYM); break;
      case OP.POP: stack.pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: push(top()); break;
      case OP.NONE: push(null); break;
      case OP.NEWTRUE: push(true); break;
      case OP.NEWFALSE: push(false); break;
      case OP.BININT: need(4); push(int(dv.getInt32(pos, true))); pos += 4; break;
      case OP.BININT1: push(int(u8())); break;
      case OP.BININT2: push(int(u16())); break;
      case OP.LONG1: push(signedLE(take(u8()))); break;
      case OP.LONG4: {
        // decoding an n-byte integer costs O(n^2); a model file's integers fit in a few bytes
        const n = u32();
        if (n > 64) fail(`LONG4 of ${n} bytes: larger than any integer a model file holds`);
        push(signedLE(take(n)));
        break;
      }
      case OP.INT: {
        const s = line();
        if (!/^-?\d{1,18}L?$/.test(s)) fail(`INT '${s.slice(0, 20)}' is not a whole number a model file holds`);
        push(s === '01' ? true : s === '00' ? false : int(Number(s.replace(/L$/, ''))));
        break;
      }
      case OP.BINFLOAT: need(8); push(float(dv.getFloat64(pos, false))); pos += 8; break;
      case OP.FLOAT: push(float(Number(line()))); break;
      case OP.SHORT_BINUNICODE: push(text(take(u8()))); break;
      case OP.BINUNICODE: push(text(take(u32()))); break;
      case OP.BINUNICODE8: push(text(take(u64()))); break;
      case OP.SHORT_BINBYTES: push(bytes(take(u8()))); break;
      case OP.BINBYTES: push(bytes(take(u32()))); break;
      case OP.BINBYTES8: push(bytes(take(u64()))); break;
      case OP.BYTEARRAY8: push(bytes(take(u64()))); break;
      case OP.EMPTY_TUPLE: push(tuple()); break;
      case OP.TUPLE1: push(tuple(pop())); break;
      case OP.TUPLE2: { const b = pop(); const a = pop(); push(tuple(a, b)); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); push(tuple(a, b, c)); break; }
      case OP.TUPLE: push({ kind: 'tuple', items: popMark() }); break;
      case OP.EMPTY_LIST: push(list([])); break;
      case OP.LIST: push(list(popMark())); break;
      case OP.APPEND: { const v = pop(); const l = top(); if (l === null || typeof l !== 'object' || l.kind !== 'list') fail('APPEND to a non-list'); spend(1); (l as PyList).items.push(v); break; }
      case OP.APPENDS: {
        const items = popMark();
        const l = top();
        if (l === null || typeof l !== 'object' || l.kind !== 'list') fail('APPENDS to a non-list');
        spend(items.length);
        for (const v of items) (l as PyList).items.push(v);
        break;
      }
      case OP.EMPTY_DICT: push(dict([])); break;
      case OP.DICT: { const items = popMark(); spend(items.length); const d = dict([]); for (let i = 0; i < items.length; i += 2) d.entries.push([items[i], items[i + 1]]); push(d); break; }
      case OP.SETITEM: { const v = pop(); const k = pop(); const d = top(); if (d === null || typeof d !== 'object' || d.kind !== 'dict') fail('SETITEM on a non-dict'); spend(1); (d as PyDict).entries.push([k, v]); break; }
      case OP.SETITEMS: { const items = popMark(); const d = top(); if (d === null || typeof d !== 'object' || d.kind !== 'dict') fail('SETITEMS on a non-dict'); spend(items.length); for (let i = 0; i < items.length; i += 2) (d as PyDict).entries.push([items[i], items[i + 1]]); break; }
      case OP.GLOBAL: { const module = line(); const name = line(); push(makeGlobal(module, name)); break; }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(makeGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: { const args = pop(); const callable = pop(); push(reduce(callable, args)); break; }
      case OP.NEWOBJ: { const args = pop(); const cls = pop(); push(newobj(cls, args)); break; }
      case OP.BUILD: {
        const state = pop();
        const obj = top();
        if (obj === null || typeof obj !== 'object' || (obj.kind !== 'reduce' && obj.kind !== 'newobj')) fail('BUILD on a value that is not an object');
        if ((obj as PyReduce | PyNewObj).state !== undefined) fail('BUILD twice on one object');
        (obj as PyReduce | PyNewObj).state = state;
        break;
      }
      case OP.BINPUT: spend(1); memo.set(u8(), top()); break;
      case OP.LONG_BINPUT: spend(1); memo.set(u32(), top()); break;
      case OP.PUT: spend(1); memo.set(Number(line()), top()); break;
      case OP.MEMOIZE: spend(1); memo.set(memo.size, top()); break;
      case OP.BINGET: case OP.LONG_BINGET: case OP.GET: {
        const id = op === OP.BINGET ? u8() : op === OP.LONG_BINGET ? u32() : Number(line());
        if (!memo.has(id)) fail(`memo ${id} is not set`);
        push(memo.get(id)!);
        break;
      }
      default:
        fail(`opcode 0x${op.toString(16)} is not one a scikit-learn model file needs; refused`);
    }
  }
}

const MARK_SYM = Symbol('mark');
