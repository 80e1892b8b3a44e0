// The admin service layer: one set of functions for the CLI, the admin API and the admin console.
export * from './context.js';
export * from './users.js';
export * from './clients.js';
export * from './resources.js';
export * from './keys.js';
export * from './events.js';
