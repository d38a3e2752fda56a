export * from './context.js';
export * from './client.js';
export * from './cache-store.js';
