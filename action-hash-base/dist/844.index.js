export const id = 844;
export const ids = [844];
export const modules = {

/***/ 91354:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   K7: () => (/* binding */ which),
/* harmony export */   cI: () => (/* binding */ ExecError),
/* harmony export */   m0: () => (/* binding */ exec)
/* harmony export */ });
/* unused harmony export formatCommand */
/* harmony import */ var node_child_process__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(31421);
/* harmony import */ var node_fs_promises__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(51455);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76760);
/* harmony import */ var node_string_decoder__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(46193);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(3828);





class ExecError extends _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .C2CError */ .n$ {
    result;
    name = 'ExecError';
    /** The command line as shown: displayArgs, masked. */
    command;
    constructor(command, result, opts = {}) {
        const mask = opts.mask ?? ((t) => t);
        const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
        super(mask(result.timedOut
            ? `${command} did not finish within ${opts.timeoutMs ?? '?'} ms and was stopped`
            : `${command} exited with code ${result.code}${tail ? `:\n${tail}` : ''}`));
        this.result = result;
        this.command = mask(command);
    }
}
async function which(cmd, envPath = process.env.PATH ?? '') {
    if (cmd.includes('/')) {
        try {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(cmd, node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
            return cmd;
        }
        catch {
            return null;
        }
    }
    for (const dir of envPath.split(node_path__WEBPACK_IMPORTED_MODULE_2__.delimiter)) {
        if (!dir)
            continue;
        const p = node_path__WEBPACK_IMPORTED_MODULE_2__.join(dir, cmd);
        try {
            await (0,node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.access)(p, node_fs_promises__WEBPACK_IMPORTED_MODULE_1__.constants.X_OK);
            return p;
        }
        catch {
            /* next */
        }
    }
    return null;
}
/** A command line for people to read (debug lines, errors): arguments quoted where a shell would need it. */
function formatCommand(cmd, args) {
    const quote = (a) => a === '' || /[\s'"\\$`;&|<>()]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a;
    return [cmd, ...args].map(quote).join(' ');
}
/** Calls onLine for each complete line of what is written; flush() ends the last one. */
function lineSplitter(onLine) {
    let buf = '';
    return {
        write(text) {
            buf += text;
            const parts = buf.split('\n');
            buf = parts.pop() ?? '';
            for (const l of parts)
                if (l.length)
                    onLine(l.replace(/\r$/, ''));
        },
        flush() {
            if (buf.length)
                onLine(buf.replace(/\r$/, ''));
            buf = '';
        },
    };
}
/** How long to wait, once the program has exited, for its output to end (a grandchild may hold it). */
const STDIO_GRACE_MS = 10_000;
/** How long to wait, once a program that timed out was killed, before giving up on it. */
const KILL_GRACE_MS = 2_000;
async function exec(cmd, args, opts = {}) {
    const env = opts.env ?? process.env;
    const logger = opts.logger;
    const mask = (text) => logger?.mask?.(text) ?? text;
    const shown = formatCommand(cmd, opts.displayArgs ?? args);
    logger?.debug(shown);
    // The program is looked up on the PATH it will run with, not on this process's.
    const file = await which(cmd, env.PATH ?? '');
    if (!file)
        throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .ToolMissingError */ .hc(cmd, opts.installHint ?? `install ${cmd}`);
    const resolved = node_path__WEBPACK_IMPORTED_MODULE_2__.resolve(opts.cwd ?? process.cwd(), file);
    const decoders = { out: new node_string_decoder__WEBPACK_IMPORTED_MODULE_3__.StringDecoder('utf8'), err: new node_string_decoder__WEBPACK_IMPORTED_MODULE_3__.StringDecoder('utf8') };
    let stdout = '';
    let stderr = '';
    const outLines = lineSplitter((l) => logger?.info(l));
    const errLines = lineSplitter((l) => logger?.info(l));
    const timers = [];
    let timedOut = false;
    try {
        const ended = await new Promise((resolve) => {
            const child = (0,node_child_process__WEBPACK_IMPORTED_MODULE_0__.spawn)(resolved, [...args], {
                ...(opts.cwd ? { cwd: opts.cwd } : {}),
                env,
                stdio: ['pipe', 'pipe', 'pipe'],
            });
            child.on('error', (error) => resolve({ error }));
            child.stdout.on('data', (d) => {
                const t = decoders.out.write(d);
                stdout += t;
                if (opts.stream)
                    outLines.write(t);
            });
            child.stderr.on('data', (d) => {
                const t = decoders.err.write(d);
                stderr += t;
                if (opts.stream)
                    errLines.write(t);
            });
            // A program may exit without reading all its input: the broken pipe is not an error of ours.
            child.stdin.on('error', () => undefined);
            // Always end stdin (an empty input included), so a program that reads it does not wait forever.
            child.stdin.end(opts.input ?? '');
            // 'close' comes when the program has exited and its output has ended. A grandchild that keeps
            // the output open (a daemon it started) is not waited for longer than STDIO_GRACE_MS.
            child.on('close', (code) => resolve({ code }));
            child.on('exit', (code) => {
                timers.push(setTimeout(() => {
                    child.stdout.destroy();
                    child.stderr.destroy();
                    resolve({ code });
                }, STDIO_GRACE_MS));
            });
            if (opts.timeoutMs)
                timers.push(setTimeout(() => {
                    timedOut = true;
                    child.kill('SIGKILL');
                    // Killed, it ends at once; should it not (a grandchild holding its output open), stop waiting.
                    timers.push(setTimeout(() => resolve({ code: null }), KILL_GRACE_MS));
                }, opts.timeoutMs));
        });
        if ('error' in ended) {
            const e = ended.error;
            if (e.code === 'ENOENT')
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .ToolMissingError */ .hc(cmd, opts.installHint ?? `install ${cmd}`);
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_4__/* .C2CError */ .n$(mask(`${shown} could not be started: ${e.message}`), { cause: e });
        }
        stdout += decoders.out.end();
        stderr += decoders.err.end();
        if (opts.stream) {
            outLines.flush();
            errLines.flush();
        }
        // A null exit code: ended by a signal (SIGKILL when it timed out).
        const code = timedOut ? 137 : (ended.code ?? 128);
        const result = { code, stdout, stderr, ...(timedOut ? { timedOut } : {}) };
        if (code !== 0 && !opts.allowFailure)
            throw new ExecError(shown, result, { mask, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
        return result;
    }
    finally {
        for (const t of timers)
            clearTimeout(t);
    }
}


/***/ }),

/***/ 59844:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   gitDifferences: () => (/* binding */ gitDifferences),
/* harmony export */   gitSource: () => (/* binding */ gitSource),
/* harmony export */   readGitView: () => (/* binding */ readGitView)
/* harmony export */ });
/* unused harmony export headCommit */
/* harmony import */ var node_fs__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(73024);
/* harmony import */ var node_path__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(76760);
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(91354);
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(3828);
/* harmony import */ var _patterns_js__WEBPACK_IMPORTED_MODULE_5__ = __webpack_require__(15885);
/* harmony import */ var _walk_js__WEBPACK_IMPORTED_MODULE_4__ = __webpack_require__(62147);





const GIT_HINT = 'apt-get install -y git';
async function git(cwd, args, allowFailure = false) {
    return (0,_core_index_js__WEBPACK_IMPORTED_MODULE_2__/* .exec */ .m0)('git', args, { cwd, allowFailure, installHint: GIT_HINT });
}
/** The commit checked out in the workspace (git HEAD), or undefined outside a checkout. */
async function headCommit(workspace) {
    const r = await git(workspace, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], true).catch(() => undefined);
    return r && r.code === 0 ? r.stdout.trim() : undefined;
}
/** Reads HEAD's tree under the workspace. Fails (naming the input 'mode') outside a checkout. */
async function readGitView(workspace) {
    const top = await git(workspace, ['rev-parse', '--show-toplevel'], true);
    if (top.code !== 0) {
        const why = top.stderr.trim().split('\n').pop() ?? '';
        throw new _core_index_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz('mode', `'git' hashes what the checkout's HEAD holds, but ${workspace} is not inside a git checkout${why ? ` (git: ${why})` : ''}`, "a git checkout, or mode 'content'");
    }
    const toplevel = node_fs__WEBPACK_IMPORTED_MODULE_0__.realpathSync(top.stdout.trim());
    const head = await git(toplevel, ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], true);
    if (head.code !== 0)
        throw new _core_index_js__WEBPACK_IMPORTED_MODULE_3__/* .InputError */ .dz('mode', `'git' hashes what HEAD holds, but the repository at ${toplevel} has no commit yet`, "a checkout with a commit, or mode 'content'");
    const prefix = node_path__WEBPACK_IMPORTED_MODULE_1__.relative(toplevel, workspace).split(node_path__WEBPACK_IMPORTED_MODULE_1__.sep).join('/');
    if (prefix.startsWith('..'))
        throw new _core_index_js__WEBPACK_IMPORTED_MODULE_3__/* .C2CError */ .n$(`Workspace ${workspace} is not inside the git checkout ${toplevel}.`);
    const listing = await git(toplevel, ['ls-tree', '-r', '-z', '--full-tree', 'HEAD']);
    const entries = new Map();
    const under = prefix ? prefix + '/' : '';
    for (const record of listing.stdout.split('\0')) {
        if (!record)
            continue;
        const tab = record.indexOf('\t');
        const [mode, type, oid] = record.slice(0, tab).split(' ');
        const full = record.slice(tab + 1);
        if (!mode || !type || !oid || tab < 0)
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_3__/* .C2CError */ .n$(`Unexpected line from git ls-tree: ${JSON.stringify(record)}`);
        if (under && !full.startsWith(under))
            continue;
        const rel = full.slice(under.length);
        entries.set(rel, { mode, type, oid, path: rel });
    }
    return { toplevel, prefix, entries };
}
/** HEAD's tree as a file system for the walk: directories are implied by the paths. */
function gitSource(workspace, view) {
    const dirs = new Map();
    const leaves = new Map();
    dirs.set(workspace, []);
    for (const e of view.entries.values()) {
        const parts = e.path.split('/');
        let dir = workspace;
        for (let i = 0; i < parts.length; i++) {
            const abs = (0,_walk_js__WEBPACK_IMPORTED_MODULE_4__/* .join */ .fj)(dir, parts[i]);
            if (i === parts.length - 1) {
                const type = e.mode === '120000' ? 'symlink' : 'file';
                leaves.set(abs, type);
                dirs.get(dir).push({ name: parts[i], type });
            }
            else if (!dirs.has(abs)) {
                dirs.set(abs, []);
                dirs.get(dir).push({ name: parts[i], type: 'dir' });
            }
            dir = abs;
        }
    }
    const byBytes = (a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name));
    for (const list of dirs.values())
        list.sort(byBytes);
    return {
        lstat: (abs) => (dirs.has(abs) ? 'dir' : (leaves.get(abs) ?? null)),
        readdir: (abs) => dirs.get(abs) ?? [],
    };
}
/**
 * Matched files whose work tree or index differs from HEAD, or that git does not track (ignored
 * files are git's business and are not reported). Returns workspace-relative paths with a reason.
 */
async function gitDifferences(workspace, view, patterns) {
    const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'];
    if (view.prefix)
        args.push('--', `:(top,literal)${view.prefix}`);
    let out;
    try {
        out = (await git(view.toplevel, args)).stdout;
    }
    catch (err) {
        if (err instanceof _core_index_js__WEBPACK_IMPORTED_MODULE_2__/* .ExecError */ .cI)
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_3__/* .C2CError */ .n$(`git status failed in ${view.toplevel}: ${err.message}`);
        throw err;
    }
    const under = view.prefix ? view.prefix + '/' : '';
    const found = [];
    for (const record of out.split('\0')) {
        if (record.length < 4)
            continue;
        const xy = record.slice(0, 2);
        const full = record.slice(3);
        if (under && !full.startsWith(under))
            continue;
        const rel = full.slice(under.length);
        if (!(patterns.match((0,_walk_js__WEBPACK_IMPORTED_MODULE_4__/* .join */ .fj)(workspace, rel)) & _patterns_js__WEBPACK_IMPORTED_MODULE_5__/* .MatchKind */ .gl.File))
            continue;
        let reason;
        if (xy === '??')
            reason = 'untracked';
        else if (xy.includes('D'))
            reason = 'deleted';
        else if (xy[0] !== ' ' && xy[1] === ' ')
            reason = 'staged, not committed';
        else
            reason = 'modified';
        found.push({ path: rel, reason });
    }
    return found;
}


/***/ })

};
