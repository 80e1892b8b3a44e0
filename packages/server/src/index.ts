// Public API of @gatehouse/server.
export { buildApp } from './app.js';
export { createGatehouse, type Gatehouse } from './server.js';
export { loadConfig, ConfigSchema, type Config } from './config/config.js';
export { openStorage, type Storage } from './storage/index.js';
export { OAuthError } from './oauth/errors.js';
