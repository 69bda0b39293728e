/** CSV cells: numbers in shortest round-trip form (like Python's repr), NaN as "NaN", strings quoted when needed. */
export function csvCell(v: string | number | bigint | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'boolean') return v ? '1' : '0';
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function csvLine(cells: ReadonlyArray<string | number | bigint | boolean | null | undefined>): string {
  return cells.map(csvCell).join(',') + '\n';
}
