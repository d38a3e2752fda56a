// The face of src/deploy/images: what other rooms may use of it.
export { describeChange, parseImageEntries } from './substitute.js';
export type { ImageChange, ImageTarget } from './substitute.js';
export {
  buildImages,
  pinImages,
  registerSecrets,
  reuseBuiltImages,
  substituteAll,
  theImage,
  verifySignatures,
} from './work.js';
export type { BuildWork, ImageWork } from './work.js';
export { SERVICE_TAG_PREFIX, resolveBuilds, type BuildSpec } from './services.js';
