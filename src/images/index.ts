// The face of src/images: what other rooms may use of it.
export {
  DOCKER_HUB,
  canonicalName,
  formatReference,
  isLoopbackHost,
  parseEcrHost,
  parseImageInput,
  parseImageReference,
  repositoryName,
  withTag,
} from './reference.js';
export type { ImageReference } from './reference.js';
