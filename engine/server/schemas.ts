// JSON schemas shared by the route plugins (each route's own schemas live beside it).

// Module names are data (declarations in the store): the schema checks their form, the handlers that they exist (404).
export const MODULE_NAME = { type: 'string', pattern: '^[a-z][a-z0-9-]{1,47}$' } as const;
export const moduleParam = { type: 'object', required: ['module'], additionalProperties: false, properties: { module: MODULE_NAME } } as const;
export const idParam = { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'integer', minimum: 1 } } } as const;
export const versionParams = {
  type: 'object', required: ['module', 'version'], additionalProperties: false, properties: { module: MODULE_NAME, version: { type: 'integer', minimum: 1 } },
} as const;
export const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const;
/** A POST that takes no fields: an empty or absent body. */
export const emptyBody = { type: ['object', 'null'], additionalProperties: false, properties: {} } as const;
export const reasonBody = { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 2000 } } } as const;
