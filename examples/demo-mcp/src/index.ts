export { buildMcpApp, mcpServerFor, MCP_SCOPE, type McpAppOptions } from './app.js';
