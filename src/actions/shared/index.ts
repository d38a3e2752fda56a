// The face of src/actions/shared: what the actions share (loaded lazily, so it stays small).
export { actionsCacheStore } from './cache.js';
