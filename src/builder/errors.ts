import { C2CError } from '../core/index.js';
import type { TagHolding } from './types.js';

/**
 * A tag that never moves (content-addressed) already holds another image than the one built: the
 * tag is left as it is and the build fails, naming both.
 */
export class TagHeldError extends C2CError {
  constructor(
    readonly tag: string,
    readonly held: TagHolding,
    readonly built: readonly string[],
  ) {
    super(
      `The tag ${tag} already holds another image: ${held.digest} (image ${held.configs.join(', ') || 'unknown'}), ` +
        `while this build made image ${built.join(', ')}. A content tag is never moved, so nothing was pushed to it. ` +
        'The same content builds another image when the build is not reproducible (a time stamp, a download in a RUN step): ' +
        'set SOURCE_DATE_EPOCH or make the step reproducible, or delete the tag in the registry to replace it.',
    );
  }
}
