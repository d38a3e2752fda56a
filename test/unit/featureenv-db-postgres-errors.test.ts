import { describe, expect, it } from 'vitest';
import { isTransientPgError } from '../../src/featureenv/db/postgres.js';

/** Which PostgreSQL errors a claim tries again (CI stop 24: concurrent claims of one environment). */
describe('postgres-template: errors tried again', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
  it('two sessions changing one catalog row at once (XX000 tuple concurrently updated): again', () => {
    expect(isTransientPgError(pgError('XX000', 'tuple concurrently updated'))).toBe(true);
  });
  it('another internal error, or a privilege refused: not again', () => {
    expect(isTransientPgError(pgError('XX000', 'could not read block 0'))).toBe(false);
    expect(isTransientPgError(pgError('42501', 'permission denied for database'))).toBe(false);
  });
});
