import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/core/words.js';

describe('splitCommandLine: a command line as an argument array, nothing expanded', () => {
  it('splits on blanks; quotes group; a backslash escapes', () => {
    expect(splitCommandLine('./smoke.sh --host  shop-canary')).toEqual([
      './smoke.sh',
      '--host',
      'shop-canary',
    ]);
    expect(splitCommandLine(`curl -H 'X-Track: canary' "https://a b" ''`)).toEqual([
      'curl',
      '-H',
      'X-Track: canary',
      'https://a b',
      '',
    ]);
    expect(splitCommandLine('echo a\\ b "c \\" d"')).toEqual(['echo', 'a b', 'c " d']);
  });

  it('expands nothing: variables, globs, pipes stay plain text', () => {
    expect(splitCommandLine('echo $HOME *.yaml | wc')).toEqual(['echo', '$HOME', '*.yaml', '|', 'wc']);
  });

  it('an unclosed quote is an error', () => {
    expect(() => splitCommandLine(`echo 'oops`)).toThrow('an unclosed single quote');
    expect(() => splitCommandLine('echo "oops')).toThrow('an unclosed double quote');
  });
});
