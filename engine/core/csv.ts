import { stringify } from 'csv-stringify/sync';

type Cell = string | number | bigint | boolean | null | undefined;

/** A value as CSV text before quoting: numbers in shortest round-trip form (like Python's repr), NaN as "NaN". */
function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  return v;
}

/**
 * CSV rows, quoted by one rule everywhere (csv-stringify: a cell with a comma, quote or line break is
 * quoted, quotes doubled), so any string a user or a module name brings stays one cell.
 */
export function csvRows(rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  return stringify(rows.map((r) => r.map(cellText)), { record_delimiter: '\n' });
}

export function csvLine(cells: ReadonlyArray<Cell>): string {
  return csvRows([cells]);
}
