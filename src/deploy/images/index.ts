// The face of src/deploy/images: what other rooms may use of it.
export { describeChange, parseImageEntries } from './substitute.js';
export type { ImageChange, ImageTarget } from './substitute.js';
export { buildImage, pinImages, registerSecrets, reuseBuiltImage, substituteAll } from './work.js';
export type { ImageWork } from './work.js';
