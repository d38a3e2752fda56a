import os from 'node:os';
import { Minimatch, type MinimatchOptions } from 'minimatch';
import { InputError } from '../core/index.js';

/**
 * hashFiles() pattern syntax, with the semantics of @actions/glob (which GitHub's runner uses for
 * `hashFiles()`), re-implemented here so the engine can walk fast and never prints through
 * @actions/core. POSIX only (the actions run on Linux).
 *
 * What @actions/glob does, and therefore what this does:
 * - one pattern per line, trimmed; empty lines and lines starting with `#` are skipped;
 * - leading `!` (repeatable) negates; later patterns win over earlier ones;
 * - relative patterns are rooted at the workspace, `~` at the home directory;
 * - a literal `.` segment (except first) or `..` segment is refused;
 * - a pattern that does not end in `**` also matches the descendants of what it names
 *   ("implicit descendants"), so a directory named by a pattern brings its whole content;
 * - a pattern with a trailing `/` matches directories only (and, implicitly, their content);
 * - matching is minimatch with dot, no braces, no extglobs: hidden files are matched by `*`.
 */

export const MatchKind = { None: 0, Directory: 1, File: 2, All: 3 } as const;

const MINIMATCH_OPTIONS: MinimatchOptions = {
  dot: true,
  nobrace: true,
  nocase: false,
  nocomment: true,
  noext: true,
  nonegate: true,
};

/** Collapses repeated slashes. */
function normalizeSeparators(p: string): string {
  return p.replace(/\/\/+/g, '/');
}

function safeTrimTrailingSeparator(p: string): string {
  if (!p) return '';
  p = normalizeSeparators(p);
  if (!p.endsWith('/') || p === '/') return p;
  return p.slice(0, -1);
}

function posixDirname(p: string): string {
  p = safeTrimTrailingSeparator(p);
  const i = p.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return p.slice(0, i);
}

/** Splits a path into segments the way @actions/glob's Path does (a rooted path starts with '/'). */
function splitSegments(p: string): string[] {
  p = safeTrimTrailingSeparator(p);
  if (!p.startsWith('/')) return p.split('/');
  const segments: string[] = [];
  let remaining = p;
  let dir = posixDirname(remaining);
  while (dir !== remaining) {
    segments.unshift(remaining.slice(remaining.lastIndexOf('/') + 1));
    remaining = dir;
    dir = posixDirname(remaining);
  }
  segments.unshift(remaining);
  return segments;
}

function joinSegments(segments: string[]): string {
  let result = segments[0] ?? '';
  let skipSlash = result.endsWith('/');
  for (let i = 1; i < segments.length; i++) {
    if (skipSlash) skipSlash = false;
    else result += '/';
    result += segments[i];
  }
  return result;
}

/** Escapes glob characters in a literal path (used for the workspace root). */
export function globEscape(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/(\[)(?=[^/]+\])/g, '[[]')
    .replace(/\?/g, '[?]')
    .replace(/\*/g, '[*]');
}

/** The literal text of a pattern segment, or '' when the segment holds a glob. */
function getLiteral(segment: string): string {
  let literal = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '\\' && i + 1 < segment.length) {
      literal += segment[++i];
      continue;
    } else if (c === '*' || c === '?') {
      return '';
    } else if (c === '[' && i + 1 < segment.length) {
      let set = '';
      let closed = -1;
      for (let i2 = i + 1; i2 < segment.length; i2++) {
        const c2 = segment[i2]!;
        if (c2 === '\\' && i2 + 1 < segment.length) {
          set += segment[++i2];
          continue;
        } else if (c2 === ']') {
          closed = i2;
          break;
        } else {
          set += c2;
        }
      }
      if (closed >= 0) {
        if (set.length > 1) return '';
        if (set) {
          literal += set;
          i = closed;
          continue;
        }
      }
    }
    literal += c;
  }
  return literal;
}

/** No glob character and no escape: the text is what it matches. */
const PLAIN = /^[^*?[\]\\]*$/;
/** A `.` or `..` segment, which `**` never matches. */
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

class Pattern {
  readonly negate: boolean;
  readonly segments: string[];
  readonly trailingSeparator: boolean;
  readonly searchPath: string;
  readonly isImplicit: boolean;
  private readonly endsWithGlobstar: boolean;
  private readonly mm: Minimatch;
  private readonly rootLiteral: string;
  /**
   * The two shapes nearly every pattern has, matched without minimatch (which splits every path
   * into segments, and on 20,000 paths costs more than the walk's readdirs): a plain path, which
   * matches itself, and a plain directory followed by `**`, which matches what lies under it.
   * Same answers as minimatch (test/unit/hashing-patterns.test.ts compares them).
   */
  private readonly literal: string | undefined;
  private readonly globstarPrefix: string | undefined;

  /** `pattern` is already absolute and fixed up (see fixupPattern). */
  constructor(negate: boolean, pattern: string, isImplicit: boolean, exact = false) {
    this.negate = negate;
    this.isImplicit = isImplicit;
    this.segments = splitSegments(pattern);
    this.trailingSeparator = normalizeSeparators(pattern).endsWith('/');
    pattern = safeTrimTrailingSeparator(pattern);
    let foundGlob = false;
    const searchSegments = this.segments
      .map((x) => getLiteral(x))
      .filter((x) => !foundGlob && !(foundGlob = x === ''));
    this.searchPath = joinSegments(searchSegments);
    this.rootLiteral = searchSegments[0] ?? '';
    this.endsWithGlobstar = this.segments[this.segments.length - 1] === '**';
    this.mm = new Minimatch(pattern, MINIMATCH_OPTIONS);
    const fast = !exact && pattern.startsWith('/') && !pattern.includes('//');
    this.literal = fast && PLAIN.test(pattern) ? pattern : undefined;
    const prefix = pattern.slice(0, -2);
    this.globstarPrefix =
      fast && this.endsWithGlobstar && pattern.endsWith('/**') && PLAIN.test(prefix) ? prefix : undefined;
  }

  match(itemPath: string): number {
    const hit = this.trailingSeparator ? MatchKind.Directory : MatchKind.All;
    if (this.globstarPrefix !== undefined) {
      // minimatch: the prefix's segments, then at least one more segment (an empty one counts),
      // none of them `.` or `..`.
      let p = itemPath.includes('//') ? normalizeSeparators(itemPath) : itemPath;
      if (!p.endsWith('/') && !this.isImplicit) p += '/';
      return p.startsWith(this.globstarPrefix) && !DOT_SEGMENT.test(p.slice(this.globstarPrefix.length))
        ? hit
        : MatchKind.None;
    }
    if (this.literal !== undefined)
      return safeTrimTrailingSeparator(itemPath) === this.literal ? hit : MatchKind.None;
    if (this.endsWithGlobstar) {
      itemPath = normalizeSeparators(itemPath);
      if (!itemPath.endsWith('/') && !this.isImplicit) itemPath += '/';
    } else {
      itemPath = safeTrimTrailingSeparator(itemPath);
    }
    if (this.mm.match(itemPath)) return this.trailingSeparator ? MatchKind.Directory : MatchKind.All;
    return MatchKind.None;
  }

  partialMatch(itemPath: string): boolean {
    itemPath = safeTrimTrailingSeparator(itemPath);
    if (posixDirname(itemPath) === itemPath) return itemPath === this.rootLiteral;
    return this.mm.matchOne(itemPath.split(/\/+/), this.mm.set[0]!, true);
  }
}

/** The compiled pattern list: what to search and how to match. */
export interface PatternSet {
  /** The patterns as the user wrote them (comments and empty lines removed). */
  readonly sources: string[];
  /** Absolute directories (or files) to walk, in the order @actions/glob walks them. */
  readonly searchPaths: string[];
  /** MatchKind bits for an absolute path (later patterns win). */
  match(absPath: string): number;
  /** Whether a directory may contain matches (so the walk descends into it). */
  partialMatch(absPath: string): boolean;
}

function isInside(root: string, p: string): boolean {
  if (p === root) return true;
  return p.startsWith(root.endsWith('/') ? root : root + '/');
}

/** Splits raw inputs into pattern lines: each entry may itself hold several lines. */
export function patternLines(patterns: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of patterns)
    for (const line of p.split('\n')) {
      const t = line.trim();
      if (t && !t.startsWith('#')) out.push(t);
    }
  return out;
}

/**
 * Compiles hashFiles-syntax patterns rooted at `workspace` (an absolute, real path). Every
 * problem is an InputError naming the input `files`.
 */
export function compilePatterns(
  patterns: readonly string[],
  workspace: string,
  /** exact: match every path through minimatch (no fast paths), to check the fast paths against. */
  opts: { homedir?: string; exact?: boolean } = {},
): PatternSet {
  const lines = patternLines(patterns);
  if (lines.length === 0)
    throw new InputError(
      'files',
      'no pattern given',
      'one or more glob patterns relative to the workspace, one per line',
    );
  const root = globEscape(workspace);
  const compiled: Pattern[] = [];
  for (const line of lines) {
    let negate = false;
    let pattern = line;
    while (pattern.startsWith('!')) {
      negate = !negate;
      pattern = pattern.slice(1).trim();
    }
    if (!pattern)
      throw new InputError(
        'files',
        `pattern '${line}' is empty after its '!'`,
        "a glob after '!', e.g. '!**/*.md'",
      );
    const literalSegments = splitSegments(pattern).map((x) => getLiteral(x));
    if (literalSegments.some((x) => x === '..'))
      throw new InputError(
        'files',
        `pattern '${line}' contains a '..' segment`,
        'patterns inside the workspace, relative to it, without .. segments',
      );
    if (literalSegments.some((x, i) => x === '.' && i !== 0))
      throw new InputError(
        'files',
        `pattern '${line}' contains a '.' segment`,
        "patterns without '.' segments (a leading './' is fine)",
      );
    pattern = normalizeSeparators(pattern);
    if (pattern === '.' || pattern.startsWith('./')) {
      pattern = root + pattern.slice(1);
    } else if (pattern === '~' || pattern.startsWith('~/')) {
      pattern = globEscape(opts.homedir ?? os.homedir()) + pattern.slice(1);
    } else if (!pattern.startsWith('/')) {
      pattern = (root.endsWith('/') ? root : root + '/') + pattern;
    }
    pattern = normalizeSeparators(pattern);
    const p = new Pattern(negate, pattern, false, opts.exact);
    if (!negate && !isInside(workspace, p.searchPath))
      throw new InputError(
        'files',
        `pattern '${line}' reaches outside the workspace ${workspace}`,
        'patterns relative to the workspace (absolute paths only inside it)',
      );
    compiled.push(p);
    if (p.trailingSeparator || p.segments[p.segments.length - 1] !== '**') {
      compiled.push(new Pattern(negate, joinSegments(p.segments.concat('**')), true, opts.exact));
    }
  }

  // Search paths: those of the positive patterns, without duplicates or paths under another one.
  const positive = compiled.filter((x) => !x.negate);
  const state = new Map<string, 'candidate' | 'included'>();
  for (const p of positive) state.set(p.searchPath, 'candidate');
  const searchPaths: string[] = [];
  for (const p of positive) {
    const key = p.searchPath;
    if (state.get(key) === 'included') continue;
    let foundAncestor = false;
    let temp = key;
    let parent = posixDirname(temp);
    while (parent !== temp) {
      if (state.has(parent)) {
        foundAncestor = true;
        break;
      }
      temp = parent;
      parent = posixDirname(temp);
    }
    if (!foundAncestor) {
      searchPaths.push(key);
      state.set(key, 'included');
    }
  }

  return {
    sources: lines,
    searchPaths,
    match(absPath: string): number {
      let result: number = MatchKind.None;
      for (const p of compiled) {
        if (p.negate) {
          if (result !== MatchKind.None) result &= ~p.match(absPath);
        } else if (result !== MatchKind.All) {
          result |= p.match(absPath);
        }
      }
      return result;
    },
    partialMatch(absPath: string): boolean {
      return positive.some((p) => p.partialMatch(absPath));
    },
  };
}
