// The HTTP API application: the app (fastify plugins), the live workbench state behind it, start/stop, the UI build.
export { buildApp, type AppOptions } from './app.ts';
export { Workbench, RequestError, DEFAULT_WORKBENCH_OPTIONS, type WorkbenchOptions } from './workbench.ts';
export { startServer, type RunningServer, type ServeOptions } from './serve.ts';
export { ensureUiBuilt, UI_DIST } from './uiBuild.ts';
