export const id = 784;
export const ids = [784];
export const modules = {

/***/ 52784:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

// ESM COMPAT FLAG
__webpack_require__.r(__webpack_exports__);

// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  actionsCacheStore: () => (/* reexport */ actionsCacheStore)
});

// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(51455);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(48161);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
;// CONCATENATED MODULE: ./lib/actions/shared/cache.js




/**
 * The Actions cache as a CacheStore (hash-base's `check: cache`). Lives in the action layer because
 * @actions/cache imports @actions/core; the engine only sees the CacheStore interface.
 *
 * An entry's version is derived by @actions/cache from the cached paths (and the compression tool),
 * so the lookup and the save must name the same path: a fixed marker directory under the home
 * directory, the same string on every run and every runner. `~` keeps that string independent of
 * where the home directory is.
 */
const CACHE_MARKER_PATH = '~/.commit-to-cloud/cache-marker';
function markerDir(markerPath) {
    return markerPath.startsWith('~/') ? (0,external_node_path_.join)((0,external_node_os_.homedir)(), markerPath.slice(2)) : markerPath;
}
let loaded;
/**
 * @actions/cache (with the Azure storage SDK under it) takes about half a second to load: loaded only
 * when a step really uses the cache, so `check: registry` runs do not pay for it.
 */
function loadCache() {
    return (loaded ??= Promise.all(/* import() */[__webpack_require__.e(759), __webpack_require__.e(959)]).then(__webpack_require__.bind(__webpack_require__, 41959)));
}
function requireService(cache) {
    if (!cache.isFeatureAvailable())
        throw new errors/* InputError */.dz('check', "'cache' needs the GitHub Actions cache service, which this step does not have (ACTIONS_RESULTS_URL / ACTIONS_CACHE_URL are not set)", "'registry' outside GitHub Actions");
    if (!process.env.ACTIONS_RUNTIME_TOKEN)
        throw new errors/* InputError */.dz('check', "'cache' needs ACTIONS_RUNTIME_TOKEN, which the runner gives JavaScript actions; it is not set", "'registry' when the step does not run as an action");
}
function actionsCacheStore(opts = {}) {
    const markerPath = opts.markerPath ?? CACHE_MARKER_PATH;
    async function exists(key) {
        const cache = await loadCache();
        requireService(cache);
        // lookupOnly: asks the service for the entry, downloads nothing. The service also answers
        // prefix matches of the key, so only the exact key counts. Service failures are logged by
        // @actions/cache as warnings and read as a miss (the safe side: a rebuild).
        const hit = await cache.restoreCache([markerPath], key, [], { lookupOnly: true });
        return hit === key;
    }
    async function save(key, file) {
        const cache = await loadCache();
        requireService(cache);
        const dir = markerDir(markerPath);
        await (0,promises_.rm)(dir, { recursive: true, force: true });
        await (0,promises_.mkdir)(dir, { recursive: true });
        try {
            await (0,promises_.copyFile)(file, (0,external_node_path_.join)(dir, (0,external_node_path_.basename)(file)));
        }
        catch (err) {
            throw new errors/* C2CError */.n$(`Cannot save the Actions cache entry '${key}': ${err.message}`, {
                cause: err,
            });
        }
        try {
            const id = await cache.saveCache([markerPath], key);
            // -1: not saved. @actions/cache has said why (another job may be saving the same key, or the
            // service failed). Only the latter is an error: the entry must exist afterwards.
            if (id === -1 && !(await exists(key)))
                throw new errors/* C2CError */.n$(`The Actions cache entry '${key}' was not saved (see the cache warning above); the next run will build again.`);
        }
        finally {
            await (0,promises_.rm)(dir, { recursive: true, force: true });
        }
    }
    return { exists, save };
}

;// CONCATENATED MODULE: ./lib/actions/shared/index.js
// The face of src/actions/shared: what the actions share (loaded lazily, so it stays small).



/***/ })

};
