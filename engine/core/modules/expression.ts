/**
 * The cut language of module declarations: comparisons (< <= > >= == !=), `and` / `or` / `not` (also
 * && || !), + - * /, parentheses, numbers, 'strings', true/false/null, lists ['a', 'b'] after `in`, and the
 * functions abs, log10, min, max, isnan, isnull. Names are alert fields and feature columns.
 *
 * Parsed here (a small precedence-climbing parser with the precedences jsep gave the language before: unary
 * operators bind to the value after them, then * /, + -, < <= > >= in, == !=, and, or), so that every node
 * has its position, nesting and length are bounded (4,096 characters, 32 levels), and nothing else is
 * accepted: no member access, no calls but the functions above, no trailing text. `checkExpression` types an
 * expression at declaration time (numbers with numbers, text with text, `in` followed by a list of the left
 * side's type, ...), so that a cut that passes `module check` cannot fail when it runs; `compileExpression`
 * turns it into closures over column indices once (no eval). A missing value is NaN (numbers) or null: every
 * comparison with it is false, so a cut on a missing field excludes the alert.
 */

export type Value = number | string | boolean | null | readonly Value[] | typeof UNKNOWN;

/**
 * A value not known yet (a feature column before the features are computed). Every operation on it is
 * unknown, except where the other side decides: `false and ?` is false, `true or ?` is true. A cut that comes
 * out false with its feature columns unknown fails whatever they are: the features need not be computed.
 */
export const UNKNOWN: unique symbol = Symbol('unknown');

/** Longest cut accepted (Fink's kilonova mask, with its list of SIMBAD classes, is ~450 characters). */
export const MAX_EXPRESSION_LENGTH = 4096;
/** Deepest nesting of parentheses, lists, calls and unary operators. */
export const MAX_EXPRESSION_DEPTH = 32;

export class ExpressionError extends Error {
  constructor(readonly expression: string, readonly position: number | null, readonly reason: string) {
    super(position === null ? `cuts: ${reason}` : `cuts: ${reason} at position ${position + 1} of '${expression}'`);
    this.name = 'ExpressionError';
  }
}

/** Where a name's value comes from when the expression runs. */
export interface NameResolver {
  /** An index into the row of values handed to the compiled function, or null when the name is unknown. */
  (name: string): number | null;
}

/** A node of a parsed cut (what `parseExpression` gives: the generators translate it). */
export type ExpressionNode = Node;

type Node =
  | { kind: 'literal'; at: number; value: number | string | boolean | null }
  | { kind: 'name'; at: number; name: string }
  | { kind: 'list'; at: number; items: Node[] }
  | { kind: 'unary'; at: number; op: string; arg: Node }
  | { kind: 'binary'; at: number; op: string; left: Node; right: Node }
  | { kind: 'call'; at: number; name: string; args: Node[] };

const FUNCTIONS: Readonly<Record<string, { arity: [number, number]; f: (...a: number[]) => number | boolean }>> = Object.freeze(Object.assign(Object.create(null), {
  abs: { arity: [1, 1], f: Math.abs },
  log10: { arity: [1, 1], f: Math.log10 },
  min: { arity: [2, 8], f: Math.min },
  max: { arity: [2, 8], f: Math.max },
  isnan: { arity: [1, 1], f: (x: number) => Number.isNaN(x) },
}));
const FUNCTION_NAMES = [...Object.keys(FUNCTIONS), 'isnull'];

// precedences as jsep had them (and the language's README promised): or 1, and 2, == != 6, < <= > >= in 7, + - 9, * / 10
const BINARY: Readonly<Record<string, number>> = Object.freeze(Object.assign(Object.create(null), {
  or: 1, '||': 1, and: 2, '&&': 2, '==': 6, '!=': 6, '<': 7, '<=': 7, '>': 7, '>=': 7, in: 7, '+': 9, '-': 9, '*': 10, '/': 10,
}));
const UNARY = new Set(['-', '+', '!', 'not']);

type Token = { t: 'num'; at: number; value: number } | { t: 'str'; at: number; value: string } | { t: 'id'; at: number; value: string } | { t: 'op'; at: number; value: string } | { t: 'end'; at: number };

const OPERATORS = ['<=', '>=', '==', '!=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '(', ')', '[', ']', ','];

function tokenize(expression: string): Token[] {
  const fail = (at: number, reason: string): never => {
    throw new ExpressionError(expression, at, reason);
  };
  const out: Token[] = [];
  let i = 0;
  while (i < expression.length) {
    const c = expression[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const number = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(expression.slice(i, i + 64));
    if (number) {
      if (/^[A-Za-z_]/.test(expression.slice(i + number[0].length, i + number[0].length + 1))) fail(i, `'${expression.slice(i, i + number[0].length + 1)}' is neither a number nor a name`);
      out.push({ t: 'num', at: i, value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expression.slice(i))!;
      out.push({ t: 'id', at: i, value: m[0] });
      i += m[0].length;
      continue;
    }
    if (c === "'" || c === '"') {
      let s = '';
      let j = i + 1;
      for (;;) {
        if (j >= expression.length) fail(i, 'unclosed string');
        const ch = expression[j];
        if (ch === c) break;
        if (ch === '\\') {
          const e = expression[j + 1];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e ?? '';
          j += 2;
          continue;
        }
        s += ch;
        j++;
      }
      out.push({ t: 'str', at: i, value: s });
      i = j + 1;
      continue;
    }
    const op = OPERATORS.find((o) => expression.startsWith(o, i));
    if (!op) fail(i, c === '.' ? "'.' : member access is not part of the cut language" : c === ';' ? "';' : a cut is one expression, with nothing after it" : `unexpected character '${c}'`);
    out.push({ t: 'op', at: i, value: op! });
    i += op!.length;
  }
  out.push({ t: 'end', at: expression.length });
  return out;
}

function parse(expression: string): Node {
  if (expression.length > MAX_EXPRESSION_LENGTH) throw new ExpressionError(expression.slice(0, 60), null, `${expression.length} characters, more than the ${MAX_EXPRESSION_LENGTH} a cut may have`);
  const tokens = tokenize(expression);
  let k = 0;
  const fail = (at: number, reason: string): never => {
    throw new ExpressionError(expression, at, reason);
  };
  const peek = () => tokens[k];
  const isOp = (tok: Token, v: string) => tok.t === 'op' && tok.value === v;
  const describe = (tok: Token) => (tok.t === 'end' ? 'the end' : tok.t === 'str' ? `'${tok.value}'` : `'${String(tok.value)}'`);
  const expect = (v: string, what: string) => {
    const tok = tokens[k];
    if (!isOp(tok, v)) fail(tok.at, `expected '${v}' ${what}, found ${describe(tok)}`);
    k++;
  };
  const binaryOp = (tok: Token): string | null => {
    if (tok.t === 'op' && tok.value in BINARY) return tok.value;
    if (tok.t === 'id' && (tok.value === 'and' || tok.value === 'or' || tok.value === 'in')) return tok.value;
    return null;
  };
  const expr = (minPrec: number, depth: number): Node => {
    let left = unary(depth);
    for (;;) {
      const tok = peek();
      const op = binaryOp(tok);
      if (op === null || BINARY[op] <= minPrec) return left;
      k++;
      const right = expr(BINARY[op], depth);
      left = { kind: 'binary', at: tok.at, op, left, right };
    }
  };
  const unary = (depth: number): Node => {
    const tok = peek();
    if (depth > MAX_EXPRESSION_DEPTH) fail(tok.at, `nested more than ${MAX_EXPRESSION_DEPTH} levels deep`);
    const op = tok.t === 'op' || tok.t === 'id' ? String(tok.value) : '';
    if (UNARY.has(op)) {
      k++;
      return { kind: 'unary', at: tok.at, op, arg: unary(depth + 1) };
    }
    return primary(depth);
  };
  const primary = (depth: number): Node => {
    const tok = tokens[k++];
    let node: Node;
    if (tok.t === 'num' || tok.t === 'str') node = { kind: 'literal', at: tok.at, value: tok.value };
    else if (tok.t === 'id') {
      if (tok.value === 'and' || tok.value === 'or' || tok.value === 'in') fail(tok.at, `'${tok.value}' needs a value before it`);
      if (tok.value === 'true' || tok.value === 'false') node = { kind: 'literal', at: tok.at, value: tok.value === 'true' };
      else if (tok.value === 'null') node = { kind: 'literal', at: tok.at, value: null };
      else if (isOp(peek(), '(')) {
        k++;
        const args: Node[] = [];
        if (!isOp(peek(), ')')) {
          for (;;) {
            args.push(expr(0, depth + 1));
            if (!isOp(peek(), ',')) break;
            k++;
          }
        }
        expect(')', `to close the call of ${tok.value}`);
        node = { kind: 'call', at: tok.at, name: tok.value, args };
      } else node = { kind: 'name', at: tok.at, name: tok.value };
    } else if (isOp(tok, '(')) {
      node = expr(0, depth + 1);
      expect(')', 'to close the parenthesis');
    } else if (isOp(tok, '[')) {
      const items: Node[] = [];
      if (!isOp(peek(), ']')) {
        for (;;) {
          items.push(expr(0, depth + 1));
          if (!isOp(peek(), ',')) break;
          k++;
        }
      }
      expect(']', 'to close the list');
      node = { kind: 'list', at: tok.at, items };
    } else return fail(tok.at, tok.t === 'end' ? 'the expression ends where a value is expected' : `expected a value, found ${describe(tok)}`);
    if (isOp(peek(), '(')) fail(peek().at, `only ${FUNCTION_NAMES.join(', ')} can be called`);
    return node;
  };
  if (tokens.length === 1) fail(0, 'empty expression');
  const root = expr(0, 0);
  if (peek().t !== 'end') fail(peek().at, `unexpected ${describe(peek())} after a complete expression`);
  return root;
}

/** The names an expression reads (alert fields and feature columns), for validation. */
export function expressionNames(expression: string): string[] {
  const out = new Set<string>();
  const walk = (n: Node): void => {
    if (n.kind === 'name') out.add(n.name);
    else if (n.kind === 'list') n.items.forEach(walk);
    else if (n.kind === 'call') n.args.forEach(walk);
    else if (n.kind === 'unary') walk(n.arg);
    else if (n.kind === 'binary') {
      walk(n.left);
      walk(n.right);
    }
  };
  walk(parse(expression));
  return [...out];
}

/** What a name holds, for the type check: numbers (feature columns, most fields), text, or true/false. */
export type NameType = 'number' | 'string' | 'boolean';
type Type = NameType | 'null' | 'list';

const TYPE_WORD: Record<Type, string> = { number: 'a number', string: 'text', boolean: 'true/false', null: 'null', list: 'a list' };

/**
 * Type-checks a cut at declaration time; throws an ExpressionError at the offending position. `typeOf` gives
 * a name's type (null: unknown, then `unknown(name)` says why, with suggestions).
 */
export function checkExpression(expression: string, typeOf: (name: string) => NameType | null, unknown: (name: string) => string = (n) => `unknown name '${n}'`): string[] {
  const root = parse(expression);
  const names = new Set<string>();
  const fail = (at: number, reason: string): never => {
    throw new ExpressionError(expression, at, reason);
  };
  const label = (n: Node): string => (n.kind === 'name' ? `'${n.name}'` : n.kind === 'literal' ? (typeof n.value === 'string' ? `'${n.value}'` : String(n.value)) : 'the expression');
  const scalar = (n: Node, t: Type, what: string): void => {
    if (t === 'list') fail(n.at, `a list is only used after 'in' (${what})`);
  };
  const type = (n: Node): Type => {
    switch (n.kind) {
      case 'literal':
        return n.value === null ? 'null' : typeof n.value === 'number' ? 'number' : typeof n.value === 'string' ? 'string' : 'boolean';
      case 'name': {
        const t = typeOf(n.name);
        if (t === null) fail(n.at, unknown(n.name));
        names.add(n.name);
        return t!;
      }
      case 'list':
        return fail(n.at, "a list is only used after 'in', e.g. cdsxmatch in ['Unknown', 'SN']");
      case 'unary': {
        const t = type(n.arg);
        if (n.op === '-' || n.op === '+') {
          if (t !== 'number') fail(n.at, `'${n.op}' needs a number, ${label(n.arg)} is ${TYPE_WORD[t]}`);
          return 'number';
        }
        if (t !== 'boolean' && t !== 'number') fail(n.at, `'${n.op}' needs a condition, ${label(n.arg)} is ${TYPE_WORD[t]}`);
        return 'boolean';
      }
      case 'call': {
        if (n.name !== 'isnull' && !Object.hasOwn(FUNCTIONS, n.name)) fail(n.at, `unknown function '${n.name}' (known: ${FUNCTION_NAMES.join(', ')})`);
        const arity = n.name === 'isnull' ? [1, 1] : FUNCTIONS[n.name].arity;
        if (n.args.length < arity[0] || n.args.length > arity[1]) fail(n.at, `${n.name} takes ${arity[0] === arity[1] ? arity[0] : arity.join('-')} argument(s), not ${n.args.length}`);
        for (const a of n.args) {
          const t = type(a);
          scalar(a, t, `an argument of ${n.name}`);
          if (n.name !== 'isnull' && t !== 'number') fail(a.at, `${n.name} takes numbers, ${label(a)} is ${TYPE_WORD[t]}`);
        }
        return n.name === 'isnan' || n.name === 'isnull' ? 'boolean' : 'number';
      }
      case 'binary': {
        const op = n.op;
        if (op === 'in') {
          const l = type(n.left);
          scalar(n.left, l, "the left of 'in'");
          if (n.right.kind !== 'list') fail(n.right.at, `'in' needs a list on its right, e.g. ${label(n.left)} in ['a', 'b']; ${label(n.right)} is ${TYPE_WORD[n.right.kind === 'name' ? (typeOf(n.right.name) ?? 'null') : 'null']}`);
          for (const item of (n.right as Extract<Node, { kind: 'list' }>).items) {
            const t = type(item);
            scalar(item, t, 'a list item');
            if (t !== 'null' && l !== 'null' && t !== l) fail(item.at, `${label(n.left)} is ${TYPE_WORD[l]}, the list holds ${label(item)}, ${TYPE_WORD[t]}`);
          }
          return 'boolean';
        }
        const l = type(n.left);
        const r = type(n.right);
        scalar(n.left, l, `the left of '${op}'`);
        scalar(n.right, r, `the right of '${op}'`);
        if (op === 'and' || op === 'or' || op === '&&' || op === '||') {
          for (const [side, t] of [[n.left, l], [n.right, r]] as const) if (t !== 'boolean' && t !== 'number') fail(side.at, `'${op}' joins conditions, ${label(side)} is ${TYPE_WORD[t]}`);
          return 'boolean';
        }
        if (op === '+' || op === '-' || op === '*' || op === '/') {
          for (const [side, t] of [[n.left, l], [n.right, r]] as const) if (t !== 'number') fail(side.at, `'${op}' needs numbers, ${label(side)} is ${TYPE_WORD[t]}`);
          return 'number';
        }
        if (op === '==' || op === '!=') {
          if (l !== r && l !== 'null' && r !== 'null') fail(n.at, `'${op}' compares ${label(n.left)}, ${TYPE_WORD[l]}, with ${label(n.right)}, ${TYPE_WORD[r]}`);
          return 'boolean';
        }
        // < <= > >=: numbers with numbers, text with text
        if (l === 'null' || r === 'null') fail(n.at, `'${op}' with null is never true; test for a missing value with isnull(...)`);
        if (l !== r || l === 'boolean') fail(n.at, `'${op}' compares ${label(n.left)}, ${TYPE_WORD[l]}, with ${label(n.right)}, ${TYPE_WORD[r]}`);
        return 'boolean';
      }
    }
  };
  const t = type(root);
  if (t !== 'boolean' && t !== 'number') fail(root.at, `a cut is a condition; this one gives ${TYPE_WORD[t]}`);
  return [...names];
}

type Fn = (row: ArrayLike<Value>) => Value;
const U: typeof UNKNOWN = UNKNOWN;

const num = (v: Value): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN);
const missing = (v: Value) => v === null || (typeof v === 'number' && Number.isNaN(v));
const truthy = (v: Value) => (v === U ? true : typeof v === 'boolean' ? v : typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : v !== null && v !== '');

function ordered<T extends string | number>(op: string, x: T, y: T): boolean {
  switch (op) {
    case '==': return x === y;
    case '!=': return x !== y;
    case '<': return x < y;
    case '<=': return x <= y;
    case '>': return x > y;
    default: return x >= y;
  }
}

function compare(op: string, a: Value, b: Value): boolean {
  if (missing(a) || missing(b)) return op === '!=' && !(missing(a) && missing(b));
  // a string on either side compares as text (cdsxmatch == 'Unknown'), otherwise as numbers
  if (typeof a === 'string' || typeof b === 'string') return ordered(op, String(a), String(b));
  return ordered(op, num(a), num(b));
}

/** The expression's syntax tree, every node with its position; ExpressionError when it does not parse or exceeds the bounds. */
export function parseExpression(expression: string): ExpressionNode {
  return parse(expression);
}

/**
 * Compiles a boolean expression once; the result reads the row through the resolver's indices. Everything
 * that can be wrong is found here (unknown names and functions, syntax, limits): the closures it returns
 * never throw, whatever the row holds.
 */
export function compileExpression(expression: string, resolve: NameResolver): (row: ArrayLike<Value>) => boolean {
  const f = compileValue(expression, resolve);
  return (row) => truthy(f(row));
}

/** The same, where the row may hold UNKNOWN: true, false, or null when the answer depends on the unknowns. */
export function compilePartialExpression(expression: string, resolve: NameResolver): (row: ArrayLike<Value>) => boolean | null {
  const f = compileValue(expression, resolve);
  return (row) => {
    const v = f(row);
    return v === U ? null : truthy(v);
  };
}

function unknownOr(v: Value, f: (v: Value) => Value): Value {
  return v === U ? U : f(v);
}

function both(a: Value, b: Value, f: (a: Value, b: Value) => Value): Value {
  return a === U || b === U ? U : f(a, b);
}

function compileValue(expression: string, resolve: NameResolver): Fn {
  const build = (n: Node): Fn => {
    switch (n.kind) {
      case 'literal': {
        const v = n.value;
        return () => v;
      }
      case 'name': {
        const i = resolve(n.name);
        if (i === null) throw new ExpressionError(expression, n.at, `unknown name '${n.name}'`);
        return (row) => row[i] ?? null;
      }
      case 'list': {
        const items = n.items.map(build);
        return (row) => items.map((f) => f(row));
      }
      case 'unary': {
        const arg = build(n.arg);
        if (n.op === '!' || n.op === 'not') return (row) => unknownOr(arg(row), (a) => !truthy(a));
        if (n.op === '-') return (row) => unknownOr(arg(row), (a) => -num(a));
        return (row) => unknownOr(arg(row), num);
      }
      case 'binary': {
        const l = build(n.left);
        const r = build(n.right);
        switch (n.op) {
          case 'and': case '&&': return (row) => {
            const a = l(row);
            if (a !== U && !truthy(a)) return false;
            const c = r(row);
            if (c !== U && !truthy(c)) return false;
            return a === U || c === U ? U : true;
          };
          case 'or': case '||': return (row) => {
            const a = l(row);
            if (a !== U && truthy(a)) return true;
            const c = r(row);
            if (c !== U && truthy(c)) return true;
            return a === U || c === U ? U : false;
          };
          case 'in': {
            if (n.right.kind !== 'list') throw new ExpressionError(expression, n.right.at, "'in' needs a list on its right, e.g. x in ['a', 'b']");
            return (row) => {
              const list = r(row);
              const v = l(row);
              if (!Array.isArray(list)) return false;
              if (v === U || list.includes(U)) return U;
              return !missing(v) && list.some((x) => compare('==', v, x));
            };
          }
          case '+': return (row) => both(l(row), r(row), (x, y) => num(x) + num(y));
          case '-': return (row) => both(l(row), r(row), (x, y) => num(x) - num(y));
          case '*': return (row) => both(l(row), r(row), (x, y) => num(x) * num(y));
          case '/': return (row) => both(l(row), r(row), (x, y) => num(x) / num(y));
          default: {
            const op = n.op;
            return (row) => both(l(row), r(row), (x, y) => compare(op, x, y));
          }
        }
      }
      case 'call': {
        if (n.name === 'isnull') {
          // a missing value: an absent field, null, or NaN
          if (n.args.length !== 1) throw new ExpressionError(expression, n.at, 'isnull takes 1 argument');
          const a = build(n.args[0]);
          return (row) => unknownOr(a(row), missing);
        }
        if (!Object.hasOwn(FUNCTIONS, n.name)) throw new ExpressionError(expression, n.at, `unknown function '${n.name}' (known: ${FUNCTION_NAMES.join(', ')})`);
        const fn = FUNCTIONS[n.name];
        if (n.args.length < fn.arity[0] || n.args.length > fn.arity[1]) throw new ExpressionError(expression, n.at, `${n.name} takes ${fn.arity.join('-')} argument(s)`);
        const args = n.args.map(build);
        return (row) => {
          const vals = args.map((a) => a(row));
          return vals.includes(U) ? U : fn.f(...vals.map(num));
        };
      }
    }
  };
  return build(parse(expression));
}
