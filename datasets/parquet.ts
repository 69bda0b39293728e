import { AlertReadError } from './types.ts';

export function isParquet(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31; // "PAR1"
}

export interface ParquetRows {
  columns: string[];
  rows: Array<Record<string, unknown>>;
}

/** Reads every row of a Parquet file as plain objects (int64 as bigint, nested structs and lists kept). */
export async function readParquetRows(buf: Buffer, file: string): Promise<ParquetRows> {
  // loaded on first use: commands that read no Parquet start faster
  const { parquetMetadata, parquetReadObjects } = await import('hyparquet');
  const { compressors } = await import('hyparquet-compressors');
  if (!isParquet(buf) || !isParquet(buf.subarray(buf.length - 4))) {
    throw new AlertReadError(file, 'file', 'not a Parquet file (missing PAR1 magic at start or end)');
  }
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let columns: string[];
  try {
    const md = parquetMetadata(ab);
    columns = md.schema.slice(1).filter((s, i, all) => {
      // top-level columns only: walk the flattened schema by num_children
      return topLevelNames(all).has(s.name) && i >= 0;
    }).map((s) => s.name);
  } catch (e) {
    throw new AlertReadError(file, 'footer', `unreadable Parquet metadata: ${(e as Error).message}`);
  }
  try {
    const rows = (await parquetReadObjects({ file: ab, compressors, utf8: false })) as Array<Record<string, unknown>>;
    return { columns: [...new Set(columns)], rows };
  } catch (e) {
    throw new AlertReadError(file, 'data', `unreadable Parquet data: ${(e as Error).message}`);
  }
}

function topLevelNames(schema: ReadonlyArray<{ name: string; num_children?: number }>): Set<string> {
  const names = new Set<string>();
  let i = 0;
  const skip = (): void => {
    const node = schema[i++];
    for (let c = 0; c < (node.num_children ?? 0); c++) skip();
  };
  while (i < schema.length) {
    names.add(schema[i].name);
    skip();
  }
  return names;
}
