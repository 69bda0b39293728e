import { parseExpression, type ExpressionNode } from '../modules/expression.ts';
import { FinkScienceRefusal } from './refusal.ts';

/** How a name of the cut expression reads in the generated Python: its kind and the expression of its values. */
export interface CutName {
  kind: 'num' | 'text';
  python: string;
}

type Kind = 'num' | 'text' | 'bool' | 'null' | 'list';

interface Py {
  code: string;
  kind: Kind;
  /** A literal's value (JavaScript's String() of it is what a text comparison sees). */
  literal?: number | string | boolean | null;
  items?: Py[];
}

const COMPARISONS = new Set(['<', '<=', '>', '>=', '==', '!=']);
const ARITHMETIC: Record<string, string> = { '+': 'np.add', '-': 'np.subtract', '*': 'np.multiply', '/': 'np.divide' };

const pyString = (s: string) => JSON.stringify(s);
const pyNumber = (x: number) => (Number.isFinite(x) ? JSON.stringify(x) : x > 0 ? 'np.inf' : x < 0 ? '-np.inf' : 'np.nan');

/**
 * A cut expression of Sieve's cut language (engine/core/modules/expression.ts) as one vectorised Python
 * expression over the batch, with the helpers of python/cuts.py: the same values, the same missing-value rule
 * (every comparison with a missing value is false, `!=` true when exactly one side is missing), the same
 * truthiness. What has no faithful translation (a number compared with text other than a literal, a list
 * outside `in`) is refused with the reason.
 */
export function cutsToPython(expression: string, resolve: (name: string) => CutName): string {
  const refuse = (why: string): never => {
    throw new FinkScienceRefusal(`cuts '${expression}': ${why}`);
  };
  const truthy = (v: Py): string => {
    switch (v.kind) {
      case 'bool': return v.code;
      case 'num': return `_truthy_num(${v.code})`;
      case 'text': return `_truthy_text(${v.code})`;
      case 'null': return 'False';
      default: return refuse('a list is only allowed on the right of `in`');
    }
  };
  const asText = (v: Py, other: Py): string => {
    if (v.kind === 'text' || v.kind === 'null') return v.kind === 'null' ? 'None' : v.code;
    // Sieve compares text with String(x): only a literal's text form is known when the module is written
    if (v.literal !== undefined && v.literal !== null) return pyString(String(v.literal));
    return refuse(`compares text (${other.code}) with a number (${v.code}); compare text with text`);
  };
  const asNumber = (v: Py): string => (v.kind === 'null' ? 'np.nan' : v.kind === 'bool' ? `_num(${v.code})` : v.code);
  const compare = (op: string, a: Py, b: Py): string => {
    if (a.kind === 'list' || b.kind === 'list') refuse('a list is only allowed on the right of `in`');
    if (a.kind === 'text' || b.kind === 'text') return `_cmp_text(${pyString(op)}, ${asText(a, b)}, ${asText(b, a)})`;
    return `_cmp_num(${pyString(op)}, ${asNumber(a)}, ${asNumber(b)})`;
  };
  const build = (n: ExpressionNode): Py => {
    switch (n.kind) {
      case 'literal': {
        const v = n.value;
        if (typeof v === 'number') return { code: pyNumber(v), kind: 'num', literal: v };
        if (typeof v === 'string') return { code: pyString(v), kind: 'text', literal: v };
        if (typeof v === 'boolean') return { code: `np.bool_(${v ? 'True' : 'False'})`, kind: 'bool', literal: v };
        return { code: 'None', kind: 'null', literal: null };
      }
      case 'name': {
        const r = resolve(n.name);
        return { code: r.python, kind: r.kind };
      }
      case 'list':
        return { code: '', kind: 'list', items: n.items.map(build) };
      case 'unary': {
        const a = build(n.arg);
        if (n.op === '!' || n.op === 'not') return { code: `np.logical_not(${truthy(a)})`, kind: 'bool' };
        if (n.op === '-') return { code: `_arith(np.negative, ${asNumber(a)})`, kind: 'num' };
        if (n.op === '+') return { code: `_num(${asNumber(a)})`, kind: 'num' };
        return refuse(`unsupported operator '${n.op}'`);
      }
      case 'binary': {
        const l = build(n.left);
        const r = build(n.right);
        if (n.op === 'and' || n.op === '&&') return { code: `np.logical_and(${truthy(l)}, ${truthy(r)})`, kind: 'bool' };
        if (n.op === 'or' || n.op === '||') return { code: `np.logical_or(${truthy(l)}, ${truthy(r)})`, kind: 'bool' };
        if (COMPARISONS.has(n.op)) return { code: compare(n.op, l, r), kind: 'bool' };
        if (n.op === 'in') {
          if (r.kind !== 'list') return refuse("'in' needs a list on its right, e.g. x in ['a', 'b']");
          // x in [a, b]: x == a or x == b (a missing x matches nothing)
          const parts = r.items!.map((item) => compare('==', l, item));
          return { code: parts.length ? `np.logical_or.reduce(np.broadcast_arrays(${parts.join(', ')}))` : 'np.bool_(False)', kind: 'bool' };
        }
        if (ARITHMETIC[n.op]) return { code: `_arith(${ARITHMETIC[n.op]}, ${asNumber(l)}, ${asNumber(r)})`, kind: 'num' };
        return refuse(`unsupported operator '${n.op}'`);
      }
      case 'call': {
        const name = n.name;
        const args = n.args.map(build);
        for (const a of args) if (a.kind === 'list') refuse(`${name}: a list is not a number`);
        const nums = args.map(asNumber);
        switch (name) {
          case 'isnull': {
            const a = args[0];
            const code = a.kind === 'text' ? `_missing_text(${a.code})` : a.kind === 'null' ? 'np.bool_(True)' : a.kind === 'bool' ? 'np.bool_(False)' : `np.isnan(_num(${a.code}))`;
            return { code, kind: 'bool' };
          }
          case 'isnan': return { code: `np.isnan(${args[0].kind === 'text' ? 'np.nan' : `_num(${nums[0]})`})`, kind: 'bool' };
          case 'abs': return { code: `_arith(np.abs, ${nums[0]})`, kind: 'num' };
          case 'log10': return { code: `_arith(np.log10, ${nums[0]})`, kind: 'num' };
          case 'min': case 'max': {
            const f = name === 'min' ? 'np.minimum' : 'np.maximum';
            return { code: nums.slice(1).reduce((acc, x) => `_arith(${f}, ${acc}, ${x})`, `_num(${nums[0]})`), kind: 'num' };
          }
          default: return refuse(`unknown function '${name}'`);
        }
      }
    }
  };
  return truthy(build(parseExpression(expression)));
}
