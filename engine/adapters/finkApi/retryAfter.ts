/**
 * The Retry-After header read strictly (RFC 9110 section 10.2.3): delay-seconds (digits only) or an HTTP-date
 * in one of the three forms a recipient must accept (section 5.6.7). `Date.parse` is not used: it reads
 * "1" as the year 2001 and many other strings as dates.
 */
export type RetryAfter = { seconds: number } | { unreadable: string };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// Sun, 06 Nov 1994 08:49:37 GMT
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
// Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

function utc(year: number, month: string, day: number, h: number, m: number, s: number): number | null {
  if (day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return null;
  const t = Date.UTC(year, MONTHS.indexOf(month), day, h, m, Math.min(s, 59));
  // 31 Feb and the like roll over into the next month: not a date
  return new Date(t).getUTCDate() === day ? t : null;
}

/** The HTTP-date as milliseconds since the epoch, or null when the text is none of the three forms. */
export function parseHttpDate(text: string): number | null {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  m = RFC850.exec(text);
  if (m) {
    // two-digit years: the RFC's rule, a year more than 50 years ahead is in the past century
    const yy = Number(m[3]);
    const now = new Date().getUTCFullYear();
    let year = Math.floor(now / 100) * 100 + yy;
    if (year > now + 50) year -= 100;
    return utc(year, m[2], Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  m = ASCTIME.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), Number(m[3]), Number(m[4]), Number(m[5]));
  return null;
}

/**
 * What a Retry-After value asks: a wait in seconds (a date in the past is 0), or why it cannot be read. The
 * caller decides what to do with a long wait; a huge value stays a finite number of seconds, never a timer.
 */
export function parseRetryAfter(value: string, nowMs: number): RetryAfter {
  const text = value.trim();
  if (/^\d+$/.test(text)) return { seconds: Number(text) };
  const at = parseHttpDate(text);
  if (at === null) return { unreadable: `Retry-After '${value.length > 60 ? `${value.slice(0, 60)}...` : value}' is neither seconds nor an HTTP date` };
  return { seconds: Math.max(0, Math.ceil((at - nowMs) / 1000)) };
}
