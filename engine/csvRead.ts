import { readFileSync } from 'node:fs';

/** A CSV table as header + string rows (quoted cells with commas and doubled quotes handled). */
export function readCsv(path: string): { header: string[]; rows: string[][] } {
  const text = readFileSync(path, 'utf8');
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  if (rows.length === 0) throw new Error(`${path}: empty CSV`);
  const header = rows[0];
  rows.slice(1).forEach((r, k) => {
    if (r.length !== header.length) throw new Error(`${path}: line ${k + 2} has ${r.length} cells, the header ${header.length}`);
  });
  return { header, rows: rows.slice(1) };
}

/** NaN for empty, 'nan' and 'NaN' cells; other non-numbers are an error naming file, line and column. */
export function numericCell(v: string, path: string, line: number, column: string): number {
  if (v === '' || v.toLowerCase() === 'nan') return NaN;
  const x = Number(v);
  if (Number.isNaN(x)) throw new Error(`${path}: line ${line}, column '${column}': '${v}' is not a number`);
  return x;
}
