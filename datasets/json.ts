/**
 * JSON with exact 64-bit integers. ZTF candid, pid and objectidps* exceed 2^53 and plain JSON.parse rounds
 * them; Node 20 gives revivers no access to the source text, so integer tokens of 16 or more digits are
 * quoted before parsing and read back as bigint by the field readers (values.ts bigId / num).
 *
 * The scan is token-correct: string literals are matched whole (escapes included) by the first
 * alternative, so digits inside a string are never touched; a number token is a digit run that starts a
 * value (after '[', ':', ',' or at the start) and ends the value (before ',', ']', '}' or the end), so
 * fractions and exponents are left alone too.
 */
const STRING_OR_LONG_INTEGER = /"(?:[^"\\]|\\.)*"|((?:^|[:[,])\s*)(-?\d{16,})(?=\s*(?:[,\]}]|$))/g;

export function parseJsonExact(text: string): unknown {
  return JSON.parse(text.replace(STRING_OR_LONG_INTEGER, (m: string, before: string | undefined, digits: string | undefined) => (digits === undefined ? m : `${before}"${digits}"`)));
}

/** JSON.stringify that writes bigint as an exact integer and NaN/Infinity as null. */
export function stringifyJsonExact(value: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v) => {
    if (typeof v === 'bigint') {
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    }
    return v;
  });
  return marks.length === 0 ? text : text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i) => marks[Number(i)]);
}
