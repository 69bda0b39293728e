import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

/** A CSV table as header + string rows (csv-parse: quoted cells, doubled quotes, CRLF), every row as wide as the header. */
export function readCsv(path: string): { header: string[]; rows: string[][] } {
  let records: string[][];
  try {
    records = parse(readFileSync(path, 'utf8'), { skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new Error(`${path}: empty CSV`);
  const header = records[0];
  records.slice(1).forEach((r, k) => {
    if (r.length !== header.length) throw new Error(`${path}: row ${k + 2} has ${r.length} cells, the header ${header.length}`);
  });
  return { header, rows: records.slice(1) };
}

/** NaN for empty, 'nan' and 'NaN' cells; other non-numbers are an error naming file, line and column. */
export function numericCell(v: string, path: string, line: number, column: string): number {
  if (v === '' || v.toLowerCase() === 'nan') return NaN;
  const x = Number(v);
  if (Number.isNaN(x)) throw new Error(`${path}: line ${line}, column '${column}': '${v}' is not a number`);
  return x;
}
