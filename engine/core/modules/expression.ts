import jsep from 'jsep';

/**
 * The cut language of module declarations: comparisons (< <= > >= == !=), `and` / `or` / `not` (also
 * && || !), + - * /, parentheses, numbers, 'strings', true/false, lists ['a', 'b'] with `in`, and the
 * functions abs, log10, min, max, isnan. Names are alert fields and feature columns. Parsed by jsep (no eval,
 * no Function) and compiled once into closures over column indices. A missing value is NaN (numbers) or null:
 * every comparison with it is false, so a cut on a missing field excludes the alert.
 */

jsep.addBinaryOp('and', 2);
jsep.addBinaryOp('or', 1);
jsep.addBinaryOp('in', 7);
jsep.addUnaryOp('not');

export type Value = number | string | boolean | null | readonly Value[] | typeof UNKNOWN;

/**
 * A value not known yet (a feature column before the features are computed). Every operation on it is
 * unknown, except where the other side decides: `false and ?` is false, `true or ?` is true. A cut that comes
 * out false with its feature columns unknown fails whatever they are: the features need not be computed.
 */
export const UNKNOWN: unique symbol = Symbol('unknown');

export class ExpressionError extends Error {
  constructor(readonly expression: string, readonly position: number | null, reason: string) {
    super(position === null ? `cuts: ${reason}` : `cuts: ${reason} at position ${position + 1} of '${expression}'`);
    this.name = 'ExpressionError';
  }
}

/** Where a name's value comes from when the expression runs. */
export interface NameResolver {
  /** An index into the row of values handed to the compiled function, or null when the name is unknown. */
  (name: string): number | null;
}

type Fn = (row: ArrayLike<Value>) => Value;
const U: typeof UNKNOWN = UNKNOWN;

const FUNCTIONS: Record<string, { arity: [number, number]; f: (...a: number[]) => number | boolean }> = {
  abs: { arity: [1, 1], f: Math.abs },
  log10: { arity: [1, 1], f: Math.log10 },
  min: { arity: [2, 8], f: Math.min },
  max: { arity: [2, 8], f: Math.max },
  isnan: { arity: [1, 1], f: (x) => Number.isNaN(x) },
};

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

/** The names an expression reads (alert fields and feature columns), for validation. */
export function expressionNames(expression: string): string[] {
  const out = new Set<string>();
  const walk = (n: jsep.Expression): void => {
    if (n.type === 'Identifier') out.add((n as jsep.Identifier).name);
    else if (n.type === 'CallExpression') (n as jsep.CallExpression).arguments.forEach(walk);
    else for (const k of ['left', 'right', 'argument', 'test', 'consequent', 'alternate'] as const) {
      const c = (n as unknown as Record<string, jsep.Expression | undefined>)[k];
      if (c) walk(c);
    }
    if (n.type === 'ArrayExpression') (n as jsep.ArrayExpression).elements.forEach((e) => e && walk(e));
  };
  walk(parse(expression));
  return [...out].filter((n) => n !== 'true' && n !== 'false' && n !== 'null');
}

function parse(expression: string): jsep.Expression {
  try {
    return jsep(expression);
  } catch (e) {
    const err = e as Error & { index?: number; description?: string };
    throw new ExpressionError(expression, err.index ?? null, (err.description ?? err.message).replace(/ at character \d+$/, ''));
  }
}

/** Compiles a boolean expression once; the result reads the row through the resolver's indices. */
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

function compileValue(expression: string, resolve: NameResolver): Fn {
  const ast = parse(expression);
  const build = (n: jsep.Expression): Fn => {
    switch (n.type) {
      case 'Literal': {
        const v = (n as jsep.Literal).value as Value;
        if (v !== null && typeof v === 'object') throw new ExpressionError(expression, null, `unsupported literal ${String((n as jsep.Literal).raw)}`);
        return () => v;
      }
      case 'Identifier': {
        const name = (n as jsep.Identifier).name;
        if (name === 'true') return () => true;
        if (name === 'false') return () => false;
        if (name === 'null') return () => null;
        const i = resolve(name);
        if (i === null) throw new ExpressionError(expression, expression.indexOf(name), `unknown name '${name}'`);
        return (row) => row[i];
      }
      case 'ArrayExpression': {
        const items = (n as jsep.ArrayExpression).elements.map((e) => build(e!));
        return (row) => items.map((f) => f(row));
      }
      case 'UnaryExpression': {
        const u = n as jsep.UnaryExpression;
        const arg = build(u.argument);
        if (u.operator === '!' || u.operator === 'not') return (row) => unknownOr(arg(row), (a) => !truthy(a));
        if (u.operator === '-') return (row) => unknownOr(arg(row), (a) => -num(a));
        if (u.operator === '+') return (row) => unknownOr(arg(row), num);
        throw new ExpressionError(expression, null, `unsupported operator '${u.operator}'`);
      }
      case 'BinaryExpression': {
        const b = n as jsep.BinaryExpression;
        const l = build(b.left);
        const r = build(b.right);
        switch (b.operator) {
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
          case '<': case '<=': case '>': case '>=': case '==': case '!=': {
            const op = b.operator;
            return (row) => both(l(row), r(row), (x, y) => compare(op, x, y));
          }
          case 'in': return (row) => {
            const list = r(row);
            if (!Array.isArray(list)) throw new ExpressionError(expression, null, "'in' needs a list on its right, e.g. x in ['a', 'b']");
            const v = l(row);
            if (v === U || list.includes(U)) return U;
            return !missing(v) && list.some((x) => compare('==', v, x));
          };
          case '+': return (row) => both(l(row), r(row), (x, y) => num(x) + num(y));
          case '-': return (row) => both(l(row), r(row), (x, y) => num(x) - num(y));
          case '*': return (row) => both(l(row), r(row), (x, y) => num(x) * num(y));
          case '/': return (row) => both(l(row), r(row), (x, y) => num(x) / num(y));
          default: throw new ExpressionError(expression, null, `unsupported operator '${b.operator}' (use < <= > >= == != and or not in + - * /)`);
        }
      }
      case 'CallExpression': {
        const c = n as jsep.CallExpression;
        const name = c.callee.type === 'Identifier' ? (c.callee as jsep.Identifier).name : '';
        if (name === 'isnull') {
          // a missing value: an absent field, null, or NaN
          if (c.arguments.length !== 1) throw new ExpressionError(expression, expression.indexOf(name), 'isnull takes 1 argument');
          const a = build(c.arguments[0]);
          return (row) => unknownOr(a(row), missing);
        }
        const fn = FUNCTIONS[name];
        if (!fn) throw new ExpressionError(expression, expression.indexOf(name), `unknown function '${name}' (known: ${[...Object.keys(FUNCTIONS), 'isnull'].join(', ')})`);
        if (c.arguments.length < fn.arity[0] || c.arguments.length > fn.arity[1]) throw new ExpressionError(expression, expression.indexOf(name), `${name} takes ${fn.arity.join('-')} argument(s)`);
        const args = c.arguments.map(build);
        return (row) => {
          const vals = args.map((a) => a(row));
          return vals.includes(U) ? U : fn.f(...vals.map(num));
        };
      }
      default:
        throw new ExpressionError(expression, null, `unsupported syntax (${n.type})`);
    }
  };
  return build(ast);
}

function unknownOr(v: Value, f: (v: Value) => Value): Value {
  return v === U ? U : f(v);
}

function both(a: Value, b: Value, f: (a: Value, b: Value) => Value): Value {
  return a === U || b === U ? U : f(a, b);
}
