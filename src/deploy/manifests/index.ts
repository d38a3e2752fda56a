// The face of src/deploy/manifests: what other rooms may use of it.
export { ManifestError, formatWhere, loadManifests } from './load.js';
export type { Manifest } from './load.js';
export type { KubeCapabilities } from './helm.js';
export { applyNamespace } from './namespaces.js';
export { GLOB_MAGIC, globPaths } from './glob.js';
