import { Ajv, type ErrorObject } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Two validators: query strings and path parameters arrive as text, so they are coerced to the schema's
 * types ('?k=10' is the number 10); JSON bodies are strict ('"alertId":"2741"' is refused, as the README
 * promises). Unknown fields are refused everywhere, never dropped.
 */
const coercing = new Ajv({ allowUnionTypes: true, coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false });
const strict = new Ajv({ allowUnionTypes: true, coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false });

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

/** One message naming the part and the field: "body: unknown field 'mood'", "body.alertId must be integer". */
export function schemaErrorMessage(errors: ErrorObject[], part: string): string {
  const e = errors[0];
  if (!e) return `${part} is not valid`;
  const where = `${part}${e.instancePath.replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties') return `${where}: unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
  if (e.keyword === 'required') return `${where}: missing field '${(e.params as { missingProperty: string }).missingProperty}'`;
  if (e.keyword === 'enum') return `${where} must be one of ${((e.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}`;
  return `${where} ${e.message ?? 'is not valid'}`;
}
