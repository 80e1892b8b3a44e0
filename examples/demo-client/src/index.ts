export { buildClientApp, SESSION_COOKIE } from './app.js';
export { configFromEnv, DEFAULT_SCOPE, type ClientAppOptions, type ListenOptions } from './config.js';
export { escapeHtml, html, raw, SafeHtml } from './views/html.js';
