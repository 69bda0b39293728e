import { readAlertFile } from '../../datasets/index.ts';
import { extractorByName } from '../../features/index.ts';
import { featureTableHeader, featureTableRow } from '../core/featureTable.ts';
import { OutputFile } from './output.ts';

export async function featuresCommand(opts: { extractor: string; in: string[]; out: string }): Promise<void> {
  const extractor = extractorByName(opts.extractor);
  const out = new OutputFile(opts.out);
  await out.write(featureTableHeader(extractor));
  const scratch = new Float64Array(extractor.spec.columns.length);
  let rows = 0;
  let errors = 0;
  for (const file of opts.in) {
    const result = await readAlertFile(file);
    for (const e of result.errors) {
      errors++;
      process.stderr.write(`error: ${e.message}\n`);
    }
    for (const alert of result.alerts) {
      await out.write(featureTableRow(extractor, alert, scratch));
      rows++;
    }
  }
  await out.end();
  process.stderr.write(`${rows} rows written to ${opts.out} (${extractor.spec.name}@${extractor.spec.version})${errors ? `, ${errors} bad records skipped` : ''}\n`);
  if (errors > 0) process.exitCode = 1;
}
