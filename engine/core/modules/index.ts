export { parseDeclaration, canonicalDeclaration, DeclarationError, DECLARATION_LIMITS, MODULE_SCHEMA, type ModuleDeclaration } from './declaration.ts';
export { compileModule, moduleFeaturesOf, type ModuleDefinition, type ModuleFeatures, type StrategyName } from './compile.ts';
export { compileExpression, expressionNames, ExpressionError, parseExpression } from './expression.ts';
export { alertFieldUnit, knownAlertFields, type SurveyName } from './fields.ts';
export { alertField, EXTRACTORS_BY_SURVEY, namedExtractor, PER_BAND_EXTRACTORS } from './parts.ts';
export {
  addModule, builtinModule, ensureBuiltinModules, moduleFromDeclaration, moduleOf, storeModules, surveyMismatch, UnknownModuleError, BUILTIN_DECLARATIONS_DIR,
} from './registry.ts';
export { moduleSummary } from './summary.ts';
export { agreementPerExpert, DEFAULT_TRUTH_FIELDS, hasLabelled, isTruthField, truthPatterns, type Agreement } from './truth.ts';
export { moduleColumnUnits } from './units.ts';
