export { parseDeclaration, canonicalDeclaration, DeclarationError, MODULE_SCHEMA, type ModuleDeclaration } from './declaration.ts';
export { compileModule, moduleFeaturesOf, type ModuleDefinition, type ModuleFeatures, type StrategyName } from './compile.ts';
export { compileExpression, expressionNames, ExpressionError } from './expression.ts';
export { knownAlertFields, type SurveyName } from './fields.ts';
export { alertField, EXTRACTORS_BY_SURVEY, PER_BAND_EXTRACTORS } from './parts.ts';
export {
  addModule, builtinModule, ensureBuiltinModules, moduleFromDeclaration, moduleOf, storeModules, UnknownModuleError, BUILTIN_DECLARATIONS_DIR,
} from './registry.ts';
export { moduleSummary } from './summary.ts';
