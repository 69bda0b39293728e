import { TokenParser, TokenType, Tokenizer } from '@streamparser/json';
import { parse, stringify } from 'lossless-json';

/**
 * JSON with exact 64-bit integers. ZTF candid, pid and objectidps*, Rubin diaObjectId / diaSourceId exceed
 * 2^53, and JSON.parse rounds them (Node 20's JSON.parse gives a reviver no access to the source text). Whole
 * texts are parsed by lossless-json, bodies too large for one string (Fink API pages) by @streamparser/json;
 * both hand every number token's text to `exactNumber`, so both give the same values.
 */

/**
 * A JSON number token as a value: an integer that a double cannot hold exactly is a bigint, every other
 * number a double (as JSON.parse gives it).
 */
export function exactNumber(token: string): number | bigint {
  const x = Number(token);
  if (Number.isSafeInteger(x) || !Number.isInteger(x) || !/^-?\d+$/.test(token)) return x;
  return BigInt(token);
}

/** JSON.parse with exact 64-bit integers (see `exactNumber`). Throws a SyntaxError naming the position. */
export function parseJsonExact(text: string): unknown {
  return parse(text, null, exactNumber);
}

/** JSON text with bigint written as an exact integer and NaN/Infinity as null (as JSON.stringify writes them). */
export function stringifyJsonExact(value: unknown): string {
  const text = stringify(value);
  if (text === undefined) throw new TypeError(`cannot write ${typeof value} as JSON`);
  return text;
}

/** The tokenizer with exact integers (`parseNumber` is the documented hook; its default is Number(text)). */
class ExactTokenizer extends Tokenizer {
  // typed as number by the library; the token parser passes the value through untouched
  override parseNumber(text: string): number {
    return exactNumber(text) as number;
  }
}

/** Where a streamed JSON array stands: the elements handed out and the bytes read. */
export interface JsonArrayProgress {
  elements: number;
  bytes: number;
}

/**
 * The elements of a top-level JSON array read from chunks, each handed to `onElement` as soon as it is
 * complete, so that no string holds the whole text (V8 refuses strings over 512 MiB) and a finished element is
 * not kept. Numbers as `parseJsonExact` gives them. Throws a SyntaxError on bad JSON (the parser's message), and
 * at once when the top-level value is not an array; an error of `onElement` stops the reading and is thrown as is.
 */
export async function forEachJsonArrayElement(
  chunks: AsyncIterable<Uint8Array>,
  onElement: (element: unknown, index: number) => void,
): Promise<JsonArrayProgress> {
  const tokenizer = new ExactTokenizer({ stringBufferSize: 64 * 1024 });
  const tokens = new TokenParser({ paths: ['$', '$.*'], keepStack: false });
  const progress: JsonArrayProgress = { elements: 0, bytes: 0 };
  let topLevel = false;
  let error: unknown = null;
  let first = true;
  tokenizer.onToken = (t) => {
    if (first) {
      first = false;
      // refused at its first token, before any of its members is read
      if (t.token !== TokenType.LEFT_BRACKET) error ??= new SyntaxError(`the answer is ${t.token === TokenType.LEFT_BRACE ? 'a JSON object' : 'a single JSON value'}, not a list`);
    }
    if (!error) tokens.write(t);
  };
  tokens.onValue = ({ value, stack }) => {
    if (stack.length === 0) {
      topLevel = true;
      return;
    }
    if (error) return;
    try {
      onElement(value, progress.elements++);
    } catch (e) {
      error = e;
    }
  };
  tokenizer.onError = tokens.onError = (e) => {
    error ??= new SyntaxError(e.message);
  };
  for await (const chunk of chunks) {
    progress.bytes += chunk.byteLength;
    tokenizer.write(chunk);
    if (error) throw error;
  }
  if (!tokenizer.isEnded) tokenizer.end();
  if (error) throw error;
  if (!topLevel) throw new SyntaxError(progress.bytes === 0 ? 'empty answer' : 'the text ends inside the list');
  return progress;
}
