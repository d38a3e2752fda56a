export const id = 376;
export const ids = [376];
export const modules = {

/***/ 1093:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   i: () => (/* binding */ AwsCallError),
/* harmony export */   u: () => (/* binding */ awsCall)
/* harmony export */ });
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3828);
/* harmony import */ var _core_index_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(7493);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(76762);


/** An AWS call that failed for a reason of AWS's (not the credentials, not the region): its error name kept. */
class AwsCallError extends _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$ {
    awsName;
    name = 'AwsCallError';
    constructor(message, awsName, cause) {
        super(message, { cause });
        this.awsName = awsName;
    }
}
/**
 * Every AWS call of the engine: our bounded retries (throttling, 5xx, the network; the SDK's own
 * are off), then one clear error: no credentials, credentials refused (with the actions they need),
 * no region, or AWS's own error (AwsCallError, its name kept for the caller to read).
 */
async function awsCall(o, what, logger, fn) {
    const label = `${o.service} ${what}`;
    try {
        return await (0,_core_index_js__WEBPACK_IMPORTED_MODULE_1__/* .retry */ .L5)(label, fn, {
            ...o.retry,
            retryable: _errors_js__WEBPACK_IMPORTED_MODULE_2__/* .isTransientAwsError */ .Sc,
            onRetry: (err, attempt, delay) => {
                logger.info(`${label}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .awsErrorOf */ .LD)(err)?.name ?? 'error'}: ${(0,_core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .errorMessage */ .gJ)(err)}; trying again in ${delay} ms`);
                o.retry?.onRetry?.(err, attempt, delay);
            },
        });
    }
    catch (err) {
        const e = (0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .awsErrorOf */ .LD)(err);
        if (e?.name === 'CredentialsProviderError')
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: no AWS credentials found by the default credential chain. Configure AWS credentials before this step (e.g. aws-actions/configure-aws-credentials)`, { cause: err });
        if ((0,_errors_js__WEBPACK_IMPORTED_MODULE_2__/* .isAwsCredentialError */ .lj)(e))
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: AWS refused the credentials (${e.name}: ${e.message ?? ''}). Check that they allow ${o.permissions}`, { cause: err });
        if (/region is missing/i.test(e?.message ?? ''))
            throw new _core_index_js__WEBPACK_IMPORTED_MODULE_0__/* .C2CError */ .n$(`${label}: no AWS region: set aws-region (or AWS_REGION)`, { cause: err });
        throw new AwsCallError(err instanceof _core_index_js__WEBPACK_IMPORTED_MODULE_1__/* .RetryExhaustedError */ .aB
            ? err.message
            : `${label} failed: ${e?.name ? `${e.name}: ` : ''}${e?.message ?? String(err)}`, e?.name, err);
    }
}


/***/ }),

/***/ 24376:
/***/ ((__unused_webpack___webpack_module__, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  Machines: () => (/* reexport */ Machines),
  reapMachines: () => (/* reexport */ reapMachines),
  teardownMachine: () => (/* reexport */ teardownMachine),
  upOnMachine: () => (/* reexport */ upOnMachine)
});

// UNUSED EXPORTS: PORTS, T_KUBECONFIG, refillMachines, userData

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(77598);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(73024);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(76760);
// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(73136);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ec2/dist-cjs/index.js
var dist_cjs = __webpack_require__(35193);
// EXTERNAL MODULE: ./node_modules/@aws-sdk/client-ssm/dist-cjs/index.js
var client_ssm_dist_cjs = __webpack_require__(34736);
// EXTERNAL MODULE: ./lib/aws/call.js
var call = __webpack_require__(1093);
// EXTERNAL MODULE: ./lib/core/errors.js
var errors = __webpack_require__(3828);
// EXTERNAL MODULE: ./lib/featureenv/state.js
var state = __webpack_require__(90228);
;// CONCATENATED MODULE: ./lib/featureenv/machine/ec2.js









/** The tag naming the SSM parameter an instance publishes its kubeconfig at. */
const T_KUBECONFIG = `${state/* PREFIX */.H3}kubeconfig-parameter`;
/** A spare's slot of the warm pool (0 … warm-pool − 1). */
const T_SLOT = `${state/* PREFIX */.H3}fe-slot`;
/** The ports an environment's security group opens to `allow-cidrs`, and what listens there. */
const PORTS = [
    { port: 80, what: 'the Ingresses (HTTP)' },
    { port: 443, what: 'the Ingresses (HTTPS)' },
    { port: 8443, what: 'the API server' },
    { port: 30090, what: 'the Kubernetes dashboard' },
    { port: 9999, what: 'the log viewer' },
];
const EC2_PERMISSIONS = 'EC2 DescribeImages, DescribeInstanceTypes, DescribeSubnets, DescribeInstances, DescribeSecurityGroups, RunInstances, CreateTags, TerminateInstances, CreateSecurityGroup, AuthorizeSecurityGroupIngress and DeleteSecurityGroup (and iam:PassRole for instance-profile)';
const SSM_PERMISSIONS = 'SSM GetParameter, GetParametersByPath, PutParameter and DeleteParameter (and kms:Decrypt)';
/** Where the user data script is: beside the bundle (dist/user-data.sh), or in the repository. */
const USER_DATA_PLACES = ['user-data.sh', '../infra/ec2/user-data.sh', '../../../infra/ec2/user-data.sh'];
/**
 * The set's instances on EC2 and its records in SSM Parameter Store: the machine provider's one
 * door to AWS. What the set owns carries its tags (instances, security groups) or lives under its
 * own parameter path (`/commit-to-cloud/feature-env/<short>/`); nothing else is ever changed.
 *
 * The exclusive claims are SSM parameters created without overwrite: PutParameter refuses a second
 * writer (ParameterAlreadyExists), which tags cannot (two runs may both tag an instance and both
 * read their own tag back). `pr-<n>` is the claim of a pull request's environment, `claim-<id>` a
 * spare taken by one pull request, `slot-<i>` a place in the warm pool.
 */
class Machines {
    opts;
    set;
    logger;
    ec2;
    ssm;
    key;
    short;
    root;
    checked;
    now;
    sleep;
    constructor(opts, set, logger, o = {}) {
        this.opts = opts;
        this.set = set;
        this.logger = logger;
        this.ec2 = o.ec2 ?? new dist_cjs/* EC2Client */.gu5({ region: opts.region, maxAttempts: 1 });
        this.ssm = o.ssm ?? new client_ssm_dist_cjs/* SSMClient */.jBj({ region: opts.region, maxAttempts: 1 });
        this.key = (0,state/* setKey */.qL)(set);
        this.short = (0,state/* setShort */.Bn)(set);
        this.root = `/commit-to-cloud/feature-env/${this.short}`;
        this.now = o.now ?? Date.now;
        this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
        this.retry = o.retry;
    }
    retry;
    call(service, what, fn) {
        return (0,call/* awsCall */.u)({
            service,
            permissions: service === 'EC2' ? EC2_PERMISSIONS : SSM_PERMISSIONS,
            ...(this.retry ? { retry: this.retry } : {}),
        }, what, this.logger, fn);
    }
    /**
     * What only EC2 can tell, before anything is launched: the newest available image matching
     * `ami-name`, the instance type, the subnet (and its VPC, for the security groups). One error
     * naming the input for each.
     */
    async check() {
        if (this.checked)
            return this.checked;
        const { amiName, amiOwner, instanceType, subnetId, region } = this.opts;
        const images = await this.call('EC2', 'DescribeImages', () => this.ec2.send(new dist_cjs/* DescribeImagesCommand */.ji5({
            Owners: [amiOwner],
            Filters: [
                { Name: 'name', Values: [amiName] },
                { Name: 'state', Values: ['available'] },
            ],
        })));
        const newest = (images.Images ?? [])
            .filter((i) => i.ImageId)
            .sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''))[0];
        if (!newest)
            throw new errors/* InputError */.dz('ami-name', `no available image matches '${amiName}' (owner ${amiOwner}) in ${region}`, "the name pattern of images that exist there, e.g. 'minikube-service-*' (infra/image-builder makes them), and ami-owner their owner");
        try {
            await this.call('EC2', 'DescribeInstanceTypes', () => this.ec2.send(new dist_cjs/* DescribeInstanceTypesCommand */.hkU({ InstanceTypes: [instanceType] })));
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && e.awsName === 'InvalidInstanceType')
                throw new errors/* InputError */.dz('instance-type', `'${instanceType}' is not an instance type EC2 offers in ${region}`, "a type such as 't3.xlarge' (4 vCPU, 16 GiB: room for about 30 small services)");
            throw e;
        }
        let vpcId;
        try {
            const subnets = await this.call('EC2', 'DescribeSubnets', () => this.ec2.send(new dist_cjs/* DescribeSubnetsCommand */.jSW({ SubnetIds: [subnetId] })));
            vpcId = subnets.Subnets?.[0]?.VpcId;
        }
        catch (e) {
            if (!(e instanceof call/* AwsCallError */.i && /^InvalidSubnetID/.test(e.awsName ?? '')))
                throw e;
        }
        if (!vpcId)
            throw new errors/* InputError */.dz('subnet-id', `there is no subnet '${subnetId}' in ${region}`, "a subnet of the VPC the runners reach, e.g. 'subnet-0abc1234def567890'");
        this.checked = { imageId: newest.ImageId, imageName: newest.Name ?? newest.ImageId, vpcId };
        return this.checked;
    }
    /** The set's instances that are not terminated (optionally one pull request's, or the spares). */
    async list(o = {}) {
        const filters = [
            { Name: `tag:${state/* MANAGED */.u9}`, Values: ['true'] },
            o.wholeRepository
                ? { Name: `tag:${state/* A_REPOSITORY */.NU}`, Values: [this.set.repository] }
                : { Name: `tag:${state/* SET */.rK}`, Values: [this.key] },
            { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
            ...(o.number ? [{ Name: `tag:${state/* PR_LABEL */.o2}`, Values: [String(o.number)] }] : []),
            ...(o.spares ? [{ Name: `tag:${state/* STATE */.c4}`, Values: ['spare'] }] : []),
        ];
        const out = [];
        let token;
        do {
            const r = await this.call('EC2', 'DescribeInstances', () => this.ec2.send(new dist_cjs/* DescribeInstancesCommand */.bNs({ Filters: filters, ...(token ? { NextToken: token } : {}) })));
            for (const res of r.Reservations ?? [])
                for (const i of res.Instances ?? [])
                    out.push(this.machineOf(i));
            token = r.NextToken;
        } while (token);
        // Only what carries this set's tags, checked again here (a filter the server ignored is not trusted).
        return o.wholeRepository
            ? out.filter((m) => m.parameter)
            : out.filter((m) => m.parameter.startsWith(`${this.root}/`));
    }
    /** One instance by id, whatever its state; undefined when EC2 knows none. */
    async describe(id) {
        try {
            const r = await this.call('EC2', 'DescribeInstances', () => this.ec2.send(new dist_cjs/* DescribeInstancesCommand */.bNs({ InstanceIds: [id] })));
            const i = r.Reservations?.[0]?.Instances?.[0];
            return i ? this.machineOf(i) : undefined;
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && /^InvalidInstanceID/.test(e.awsName ?? ''))
                return undefined;
            throw e;
        }
    }
    machineOf(i) {
        const tags = Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
        const n = Number(tags[state/* PR_LABEL */.o2]);
        const slot = Number(tags[T_SLOT]);
        return {
            id: i.InstanceId ?? '',
            state: i.State?.Name ?? 'unknown',
            ...(Number.isSafeInteger(n) && n > 0 ? { number: n } : {}),
            spare: tags[state/* STATE */.c4] === 'spare',
            ...(tags[T_SLOT] !== undefined && Number.isSafeInteger(slot) ? { slot } : {}),
            parameter: tags[T_KUBECONFIG] ?? '',
            securityGroups: (i.SecurityGroups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
            ...(i.PrivateIpAddress ? { address: i.PrivateIpAddress } : {}),
            ...(i.PublicIpAddress ? { publicAddress: i.PublicIpAddress } : {}),
            ...(i.LaunchTime ? { launchedAt: new Date(i.LaunchTime).toISOString() } : {}),
            ...(tags[state/* A_EXPIRES */.Po] ? { expiresAt: tags[state/* A_EXPIRES */.Po] } : {}),
            ...(i.ImageId ? { imageId: i.ImageId } : {}),
        };
    }
    /** The set's tags, with the pull request's (or a spare's) and the expiry. */
    tags(o) {
        const t = {
            [state/* MANAGED */.u9]: 'true',
            [state/* SET */.rK]: this.key,
            [state/* A_REPOSITORY */.NU]: this.set.repository,
            [state/* STATE */.c4]: o.number ? 'active' : 'spare',
            Name: `${this.set.prefix}${this.short}-${o.number ? `pr-${o.number}` : 'spare'}`,
            ...(o.number ? { [state/* PR_LABEL */.o2]: String(o.number) } : {}),
            ...(o.slot !== undefined ? { [T_SLOT]: String(o.slot) } : {}),
            ...(o.expiresAt ? { [state/* A_EXPIRES */.Po]: o.expiresAt } : {}),
            ...(o.parameter ? { [T_KUBECONFIG]: o.parameter } : {}),
            ...(o.createdAt ? { [state/* A_CREATED */.D0]: o.createdAt } : {}),
        };
        return Object.entries(t).map(([Key, Value]) => ({ Key, Value }));
    }
    /**
     * Launches one instance from the checked image: first a security group of its own (admitting
     * `allow-cidrs` to PORTS only), then the instance with the set's tags and the user data. A
     * refused launch (capacity, a limit, a profile) leaves nothing: its security group goes again.
     */
    async launch(o) {
        const { imageId, imageName, vpcId } = await this.check();
        const token = (0,external_node_crypto_.randomBytes)(6).toString('hex');
        const parameter = `${this.root}/kubeconfig/${token}`;
        const who = o.number ? `#${o.number}` : 'a spare';
        // Made first: a bundle without the script is refused before anything is created.
        const data = Buffer.from(userData({
            region: this.opts.region,
            parameter,
            images: o.images,
            ...(o.ecr ? { ecr: o.ecr } : {}),
        })).toString('base64');
        // EC2 takes at most 16 KB of user data (before base64).
        if (Buffer.byteLength(data, 'base64') > 16_384)
            throw new errors/* C2CError */.n$(`The user data of ${who} is ${Buffer.byteLength(data, 'base64')} bytes with its ${o.images.length} images under test; EC2 takes at most 16384. Pass fewer images under test (the others are cached in the image).`);
        const group = await this.call('EC2', 'CreateSecurityGroup', () => this.ec2.send(new dist_cjs/* CreateSecurityGroupCommand */.x3C({
            GroupName: `c2c-${this.short}-${o.number ? `pr-${o.number}` : 'spare'}-${token}`,
            Description: `commit-to-cloud feature environment ${who} of ${this.set.repository}`,
            VpcId: vpcId,
            TagSpecifications: [
                {
                    ResourceType: 'security-group',
                    Tags: this.tags({ ...o, parameter, createdAt: new Date(this.now()).toISOString() }),
                },
            ],
        })));
        const groupId = group.GroupId;
        try {
            await this.call('EC2', 'AuthorizeSecurityGroupIngress', () => this.ec2.send(new dist_cjs/* AuthorizeSecurityGroupIngressCommand */.N8i({
                GroupId: groupId,
                IpPermissions: PORTS.map(({ port, what }) => ({
                    IpProtocol: 'tcp',
                    FromPort: port,
                    ToPort: port,
                    IpRanges: this.opts.allowCidrs
                        .filter((c) => !c.includes(':'))
                        .map((CidrIp) => ({ CidrIp, Description: what })),
                    Ipv6Ranges: this.opts.allowCidrs
                        .filter((c) => c.includes(':'))
                        .map((CidrIpv6) => ({ CidrIpv6, Description: what })),
                })),
            })));
            const r = await this.call('EC2', 'RunInstances', () => this.ec2.send(new dist_cjs/* RunInstancesCommand */.zq7({
                ImageId: imageId,
                InstanceType: this.opts.instanceType,
                MinCount: 1,
                MaxCount: 1,
                SubnetId: this.opts.subnetId,
                SecurityGroupIds: [groupId],
                ...(this.opts.instanceProfile ? { IamInstanceProfile: { Name: this.opts.instanceProfile } } : {}),
                // IMDSv2 only: the user data asks for a session token first.
                MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
                UserData: data,
                ClientToken: `c2c-${this.short}-${token}`,
                TagSpecifications: [
                    { ResourceType: 'instance', Tags: this.tags({ ...o, parameter }) },
                    { ResourceType: 'volume', Tags: this.tags({ ...o, parameter }) },
                ],
            })));
            const instance = r.Instances?.[0];
            if (!instance?.InstanceId)
                throw new errors/* C2CError */.n$('EC2 RunInstances answered without an instance');
            const m = this.machineOf(instance);
            this.logger.info(`launched ${m.id} (${this.opts.instanceType}, image ${imageName} ${imageId}) for ${who}, security group ${groupId}`);
            return m;
        }
        catch (e) {
            await this.deleteGroup(groupId, { waitMs: 0 }).catch(() => false);
            if (e instanceof call/* AwsCallError */.i)
                throw new errors/* C2CError */.n$(`EC2 refused to launch the instance of ${who} (${this.opts.instanceType} in ${this.opts.subnetId}): ${e.message}.${/InsufficientInstanceCapacity|InstanceLimitExceeded|Unsupported/.test(e.awsName ?? '')
                    ? ' Try another instance-type, or a subnet-id in another availability zone, or run again later.'
                    : ''} Nothing was left: its security group ${groupId} was deleted.`, { cause: e });
            throw e;
        }
    }
    /** Changes an instance's tags (a spare becoming a pull request's, an expiry pushed forward). */
    async retag(m, o) {
        await this.call('EC2', 'CreateTags', () => this.ec2.send(new dist_cjs/* CreateTagsCommand */.RmG({
            Resources: [m.id, ...m.securityGroups],
            Tags: this.tags({ ...o, parameter: m.parameter }),
        })));
    }
    /** The published kubeconfig (SecureString, decrypted), or undefined while there is none. */
    async kubeconfig(m) {
        return (await this.readParameter(m.parameter, { decrypt: true }))?.value;
    }
    /**
     * Terminates the instance and removes its security group and its parameter. The group can go
     * only once the instance is gone (EC2 says DependencyViolation until then): tried for `waitMs`,
     * then left for reap (it carries the set's tags).
     */
    async terminate(m, o) {
        try {
            await this.call('EC2', 'TerminateInstances', () => this.ec2.send(new dist_cjs/* TerminateInstancesCommand */.NaF({ InstanceIds: [m.id] })));
        }
        catch (e) {
            if (!(e instanceof call/* AwsCallError */.i && /^InvalidInstanceID/.test(e.awsName ?? '')))
                throw e;
        }
        if (m.parameter)
            await this.deleteParameter(m.parameter);
        await this.deleteParameter(`${this.root}/claim-${m.id}`);
        const groupsLeft = [];
        for (const g of m.securityGroups)
            if (await this.ownGroup(g))
                if (!(await this.deleteGroup(g, o)))
                    groupsLeft.push(g);
        return { groupsLeft };
    }
    /** Whether a security group carries this set's tags (only those are ever deleted). */
    async ownGroup(id) {
        return (await this.groups({ ids: [id] })).length > 0;
    }
    /** The set's security groups (optionally some by id, or only those made more than olderThanMs ago). */
    async groups(o = {}) {
        try {
            const r = await this.call('EC2', 'DescribeSecurityGroups', () => this.ec2.send(new dist_cjs/* DescribeSecurityGroupsCommand */.jsQ({
                ...(o.ids ? { GroupIds: o.ids } : {}),
                Filters: [
                    { Name: `tag:${state/* MANAGED */.u9}`, Values: ['true'] },
                    { Name: `tag:${state/* SET */.rK}`, Values: [this.key] },
                ],
            })));
            const now = this.now();
            return (r.SecurityGroups ?? [])
                .filter((g) => {
                const tags = Object.fromEntries((g.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
                if (tags[state/* SET */.rK] !== this.key)
                    return false;
                if (o.olderThanMs === undefined)
                    return true;
                const made = Date.parse(tags[state/* A_CREATED */.D0] ?? '');
                return Number.isFinite(made) && now - made >= o.olderThanMs;
            })
                .map((g) => g.GroupId ?? '')
                .filter(Boolean);
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && /^InvalidGroup/.test(e.awsName ?? ''))
                return [];
            throw e;
        }
    }
    /** Deletes a security group, waiting out DependencyViolation (its instance still going) for waitMs. */
    async deleteGroup(id, o) {
        const until = this.now() + o.waitMs;
        for (;;) {
            try {
                await this.call('EC2', 'DeleteSecurityGroup', () => this.ec2.send(new dist_cjs/* DeleteSecurityGroupCommand */.yEh({ GroupId: id })));
                return true;
            }
            catch (e) {
                if (e instanceof call/* AwsCallError */.i && /^InvalidGroup/.test(e.awsName ?? ''))
                    return true;
                if (!(e instanceof call/* AwsCallError */.i && e.awsName === 'DependencyViolation'))
                    throw e;
                if (this.now() >= until) {
                    this.logger.info(`security group ${id} is still in use (its instance is terminating): reap removes it`);
                    return false;
                }
                await this.sleep(5000);
            }
        }
    }
    // SSM: the kubeconfigs and the claims.
    /** A parameter of the set (name relative to its path, or absolute), with when it was last written. */
    async readParameter(name, o = {}) {
        const full = name.startsWith('/') ? name : `${this.root}/${name}`;
        try {
            const r = await this.call('SSM', 'GetParameter', () => this.ssm.send(new client_ssm_dist_cjs/* GetParameterCommand */.lhy({ Name: full, WithDecryption: o.decrypt ?? false })));
            const p = r.Parameter;
            return p?.Value !== undefined
                ? { value: p.Value, modifiedAt: p.LastModifiedDate ? new Date(p.LastModifiedDate).getTime() : 0 }
                : undefined;
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && e.awsName === 'ParameterNotFound')
                return undefined;
            throw e;
        }
    }
    /** Creates a parameter of the set only when it does not exist: false when another run has it. */
    async putNew(name, value) {
        try {
            await this.call('SSM', 'PutParameter', () => this.ssm.send(new client_ssm_dist_cjs/* PutParameterCommand */.ihh({
                Name: `${this.root}/${name}`,
                Value: value,
                Type: 'String',
                Overwrite: false,
            })));
            return true;
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && e.awsName === 'ParameterAlreadyExists')
                return false;
            throw e;
        }
    }
    /** Writes a parameter of the set (it is this run's: a claim it holds). */
    async put(name, value) {
        await this.call('SSM', 'PutParameter', () => this.ssm.send(new client_ssm_dist_cjs/* PutParameterCommand */.ihh({
            Name: `${this.root}/${name}`,
            Value: value,
            Type: 'String',
            Overwrite: true,
        })));
    }
    async deleteParameter(name) {
        const full = name.startsWith('/') ? name : `${this.root}/${name}`;
        if (!full.startsWith(`${this.root}/`))
            return false;
        try {
            await this.call('SSM', 'DeleteParameter', () => this.ssm.send(new client_ssm_dist_cjs/* DeleteParameterCommand */.Obs({ Name: full })));
            return true;
        }
        catch (e) {
            if (e instanceof call/* AwsCallError */.i && e.awsName === 'ParameterNotFound')
                return false;
            throw e;
        }
    }
    /** Every parameter of the set (the claims, the slots, the kubeconfigs), names relative to its path. */
    async parameters() {
        const out = [];
        let token;
        do {
            const r = await this.call('SSM', 'GetParametersByPath', () => this.ssm.send(new client_ssm_dist_cjs/* GetParametersByPathCommand */.o_y({
                Path: this.root,
                Recursive: true,
                ...(token ? { NextToken: token } : {}),
            })));
            for (const p of r.Parameters ?? [])
                if (p.Name?.startsWith(`${this.root}/`))
                    out.push({
                        name: p.Name.slice(this.root.length + 1),
                        // A kubeconfig's value is not read here (it is not decrypted): only its name matters.
                        value: p.Type === 'SecureString' ? '' : (p.Value ?? ''),
                        modifiedAt: p.LastModifiedDate ? new Date(p.LastModifiedDate).getTime() : 0,
                    });
            token = r.NextToken;
        } while (token);
        return out;
    }
    close() {
        this.ec2.destroy();
        this.ssm.destroy();
    }
}
/**
 * The user data the action sends: a prologue setting the script's inputs (shell-quoted), then
 * infra/ec2/user-data.sh as it is (shipped beside the bundle).
 */
function userData(o) {
    const script = readUserDataScript();
    const q = (v) => `'${v.replaceAll("'", `'\\''`)}'`;
    const [shebang, ...rest] = script.split('\n');
    return [
        shebang,
        '# Set by action-feature-env (isolation: ec2):',
        `C2C_REGION=${q(o.region)}`,
        `C2C_PARAMETER=${q(o.parameter)}`,
        `C2C_IMAGES=${q(o.images.join('\n'))}`,
        `C2C_ECR=${q(o.ecr ?? '')}`,
        ...rest,
    ].join('\n');
}
function readUserDataScript() {
    const here = external_node_path_.dirname((0,external_node_url_.fileURLToPath)(import.meta.url));
    for (const p of USER_DATA_PLACES) {
        const file = external_node_path_.resolve(here, p);
        if (external_node_fs_.existsSync(file))
            return external_node_fs_.readFileSync(file, 'utf8');
    }
    throw new errors/* C2CError */.n$(`The user data script (infra/ec2/user-data.sh) is not beside ${here}: the bundle is incomplete`);
}

// EXTERNAL MODULE: ./lib/core/inputs.js
var inputs = __webpack_require__(50662);
// EXTERNAL MODULE: ./lib/core/markdown.js
var markdown = __webpack_require__(88346);
// EXTERNAL MODULE: ./lib/images/reference.js
var reference = __webpack_require__(41403);
// EXTERNAL MODULE: ./lib/kube/client.js
var client = __webpack_require__(26254);
// EXTERNAL MODULE: ./lib/kube/kubeconfig.js
var kubeconfig = __webpack_require__(20490);
// EXTERNAL MODULE: ./lib/featureenv/claims.js
var claims = __webpack_require__(9428);
// EXTERNAL MODULE: ./lib/featureenv/context.js
var context = __webpack_require__(96510);
// EXTERNAL MODULE: ./lib/featureenv/down.js
var down = __webpack_require__(8909);
// EXTERNAL MODULE: ./lib/featureenv/progress.js + 1 modules
var featureenv_progress = __webpack_require__(92508);
// EXTERNAL MODULE: ./lib/featureenv/summary.js
var summary = __webpack_require__(43481);
// EXTERNAL MODULE: ./lib/featureenv/up.js + 1 modules
var up = __webpack_require__(26349);
;// CONCATENATED MODULE: ./lib/featureenv/machine/provider.js











const alive = (m) => !['shutting-down', 'terminated'].includes(m.state);
const iso = (ms) => new Date(ms).toISOString();
/** The instance was terminated while this up waited for it: a down ran meanwhile. */
class MachineGone extends errors/* C2CError */.n$ {
}
/**
 * up with `isolation: ec2`: the inputs EC2 must confirm (image, type, subnet) and the pull request's
 * checks first, then the pull request's instance (its own, a warm one, or a new one launched with
 * the user data), its kubeconfig awaited at the SSM parameter its tag names and its API server
 * asked, then the very same up as a namespace's, into that cluster: validation, dry run, rollout
 * watch, database Secret, Ingress hosts on the instance's address, comment, GitHub Deployment.
 */
async function upOnMachine(opts, ctx, m, db, number, timing = {}) {
    const { logger } = ctx;
    const now = ctx.now ?? Date.now;
    const checked = await logger.group('Check the image, instance type and subnet with EC2', () => m.check());
    logger.info(`image ${checked.imageName} (${checked.imageId}), ${m.opts.instanceType} in ${m.opts.subnetId}`);
    const begun = await (0,up/* beginUp */.ns)(opts, ctx, number);
    if ('withdrawn' in begun)
        return begun.withdrawn;
    const { sha, prUrl, prepared, t0 } = begun;
    const progress = new featureenv_progress/* UpProgress */.v(ctx, number, sha, prepared, t0);
    progress.stepTo('machine');
    try {
        const expiresAt = iso(now() + opts.ttlMs);
        const images = (opts.deploy?.images ?? []).map(reference/* formatReference */.FH);
        const ecr = (opts.deploy?.images ?? []).map((i) => i.registry).find((r) => (0,reference/* parseEcrHost */.wl)(r));
        const placed = await logger.group('Claim a machine', () => place(m, ctx, number, {
            images,
            ...(ecr ? { ecr } : {}),
            expiresAt,
            maxEnvironments: opts.fences.maxEnvironments,
        }));
        let connection;
        try {
            connection = await logger.group(`Wait for ${placed.machine.id}: its kubeconfig, its API server`, () => awaitCluster(m, ctx, placed.machine, {
                timeoutMs: placed.existing ? Math.min(m.opts.readyTimeoutMs, 120_000) : m.opts.readyTimeoutMs,
                pollMs: timing.pollMs ?? 5000,
            }));
        }
        catch (e) {
            // A new instance that never became usable goes, with its security group, parameter and claim.
            if (!(e instanceof MachineGone) && !placed.existing) {
                await m.terminate(placed.machine, { waitMs: timing.groupWaitMs ?? 60_000 }).catch(() => undefined);
                await m.deleteParameter(`pr-${number}`).catch(() => false);
            }
            throw e;
        }
        const address = placed.machine.publicAddress ?? placed.machine.address ?? '';
        const scope = {
            client: new client/* KubeClient */.B(connection, { logger, ...(ctx.kubeRetry ? { retry: ctx.kubeRetry } : {}) }),
            repository: ctx.repository,
            prefix: opts.namespacePrefix,
            label: opts.label,
            logger,
            ...(ctx.now ? { now: ctx.now } : {}),
        };
        // Inside the instance's own cluster: one environment, no spares there (the pool is of machines).
        const onMachine = {
            ...opts,
            warmPool: 0,
            domain: opts.domain || (address ? `${address}.nip.io` : ''),
            links: [
                ...(address
                    ? [
                        ['Kubernetes dashboard', `http://${address}:30090/`],
                        ['Logs', `http://${address}:9999/`],
                    ]
                    : []),
                ...opts.links,
            ],
            fences: { ...opts.fences, maxEnvironments: 0 },
        };
        const r = await (0,up/* upChecked */.NM)(onMachine, { ...ctx, connection }, scope, db, {
            number,
            sha,
            prUrl,
            prepared,
            tls: undefined,
            oidcClient: undefined,
            progress,
            t0,
        });
        r.instanceId = placed.machine.id;
        if (opts.warmPool > 0)
            await refillMachines(m, opts, ctx).catch((e) => logger.warning(`could not refill the warm pool of instances: ${(0,errors/* errorMessage */.gJ)(e)}`));
        return r;
    }
    catch (e) {
        await progress.fail((0,up/* withReport */.BN)(e));
        throw e;
    }
}
/**
 * The pull request's instance, exclusively: its own (an update), else one claimed from the warm
 * pool (one with its kubeconfig published), else a new one. `pr-<n>` (created without overwrite) is
 * held while it is chosen: ten concurrent runs for one pull request launch one instance.
 */
async function place(m, ctx, number, o) {
    const { logger } = ctx;
    const now = ctx.now ?? Date.now;
    const own = async () => (await m.list({ number })).sort(byLaunch)[0];
    const mine = await own();
    if (mine) {
        logger.info(`#${number} has instance ${mine.id} already: update`);
        await m.retag(mine, { number, expiresAt: o.expiresAt });
        return { machine: mine, existing: true, fromPool: false };
    }
    const pending = `pending ${(0,external_node_crypto_.randomBytes)(4).toString('hex')} ${iso(now())}`;
    if (!(await m.putNew(`pr-${number}`, pending))) {
        const claim = await m.readParameter(`pr-${number}`);
        if (claim && !claim.value.startsWith('i-') && now() - claim.modifiedAt < claims/* PENDING_MS */.ls) {
            // Another run is choosing #n's instance right now: it is that run's to make; use it once tagged.
            for (let i = 0; i < 12; i++) {
                await m.sleep(5000);
                const made = await own();
                if (made)
                    return { machine: made, existing: true, fromPool: false };
            }
            throw new errors/* C2CError */.n$(`Another run has been making the environment of #${number} since ${iso(claim.modifiedAt)} (SSM parameter ${m.root}/pr-${number}), and no instance came: nothing was done. Run again in a minute.`);
        }
        // A claim without a live instance (its run died, the instance was terminated by hand): taken over.
        logger.info(`#${number}: the claim ${claim?.value ?? ''} names no live instance: taken over`);
        await m.put(`pr-${number}`, pending);
    }
    const stillOurs = async () => (await m.readParameter(`pr-${number}`))?.value === pending;
    try {
        if (o.maxEnvironments > 0) {
            const active = (await m.list()).filter((x) => x.number && x.number !== number).sort(byLaunch);
            if (active.length >= o.maxEnvironments)
                throw new errors/* C2CError */.n$(`max-environments is ${o.maxEnvironments}, and the set has ${active.length} environments (the oldest: ${active
                    .slice(0, 3)
                    .map((x) => `#${x.number} ${x.id}`)
                    .join(', ')}): no instance is launched for #${number}. Take one down, or raise max-environments.`);
        }
        // A warm instance: running, its kubeconfig published. Claimed by one pull request only.
        for (const spare of (await m.list({ spares: true }))
            .filter((x) => x.state === 'running')
            .sort(byLaunch)) {
            if (!(await m.kubeconfig(spare)))
                continue;
            if (!(await m.putNew(`claim-${spare.id}`, String(number))))
                continue;
            await m.retag(spare, { number, expiresAt: o.expiresAt });
            if (spare.slot !== undefined)
                await m.deleteParameter(`slot-${spare.slot}`);
            await m.put(`pr-${number}`, spare.id);
            logger.info(`#${number} takes the warm instance ${spare.id} (launched ${spare.launchedAt ?? '?'})`);
            return { machine: { ...spare, number, spare: false }, existing: false, fromPool: true };
        }
        const machine = await m.launch({
            number,
            expiresAt: o.expiresAt,
            images: o.images,
            ...(o.ecr ? { ecr: o.ecr } : {}),
        });
        // A down that ran while it launched released the claim: what this run launched is nobody's.
        if (!(await stillOurs())) {
            await m.terminate(machine, { waitMs: 0 }).catch(() => undefined);
            throw new errors/* C2CError */.n$(`The environment of #${number} was taken down while its instance was launched: ${machine.id} was terminated again. Run again if it is still wanted.`);
        }
        await m.put(`pr-${number}`, machine.id);
        return { machine, existing: false, fromPool: false };
    }
    catch (e) {
        if (await stillOurs().catch(() => false))
            await m.deleteParameter(`pr-${number}`).catch(() => false);
        throw e;
    }
}
const byLaunch = (a, b) => (a.launchedAt ?? '').localeCompare(b.launchedAt ?? '');
/**
 * Waits until the instance published its kubeconfig and its API server answers with it; stops when
 * the instance is terminated meanwhile (a down), or after timeoutMs.
 */
async function awaitCluster(m, ctx, machine, o) {
    const { logger } = ctx;
    const now = ctx.now ?? Date.now;
    const started = now();
    let last = '';
    for (;;) {
        const d = await m.describe(machine.id);
        if (!d || !alive(d))
            throw new MachineGone(`The instance ${machine.id} of #${machine.number ?? '?'} was terminated while it was starting (the environment was taken down): nothing was deployed.`);
        const text = await m.kubeconfig(machine);
        if (text) {
            try {
                const connection = await (0,kubeconfig/* loadKubeconfig */.i)({ content: text, input: `SSM parameter ${machine.parameter}` }, logger);
                const v = await new client/* KubeClient */.B(connection, {
                    logger,
                    retry: { attempts: 1 },
                    timeoutMs: 10_000,
                }).version();
                logger.info(`${machine.id}: API server ${connection.server} answers (Kubernetes ${v.gitVersion ?? '?'}) after ${(0,inputs/* formatDuration */.a3)(now() - started)}`);
                return connection;
            }
            catch (e) {
                last = (0,errors/* errorMessage */.gJ)(e);
            }
        }
        if (now() - started >= o.timeoutMs)
            throw new errors/* C2CError */.n$(`The instance ${machine.id} did not become ready within vm-ready-timeout (${(0,inputs/* shortDuration */.TV)(o.timeoutMs / 1000)}): ${text
                ? `its API server did not answer (${last})`
                : `it never published its kubeconfig at SSM parameter ${machine.parameter}`}. It was terminated, with its security group and parameter. Its console output says why: aws ec2 get-console-output --instance-id ${machine.id} --latest`);
        await m.sleep(o.pollMs);
    }
}
/**
 * down with `isolation: ec2`: the pull request's instances terminated, their security groups and
 * parameters removed, the claim released, the database released, GitHub told. Safe to run again.
 */
async function teardownMachine(m, ctx, db, o) {
    const { logger } = ctx;
    const found = await m.list({ number: o.number });
    const claim = await m.readParameter(`pr-${o.number}`);
    if (claim?.value.startsWith('i-') && !found.some((x) => x.id === claim.value)) {
        const d = await m.describe(claim.value);
        // Only an instance of this set (its kubeconfig parameter under the set's path) is terminated.
        if (d && alive(d) && d.parameter.startsWith(`${m.root}/`))
            found.push(d);
    }
    for (const x of found) {
        logger.info(`terminating ${x.id} (${o.reason})`);
        const { groupsLeft } = await m.terminate(x, { waitMs: o.groupWaitMs ?? 120_000 });
        if (groupsLeft.length)
            logger.info(`security group(s) ${groupsLeft.join(', ')} go at the next reap`);
    }
    await m.deleteParameter(`pr-${o.number}`);
    if (db && (await db.release({ number: o.number }, logger)))
        logger.info(`database of #${o.number} released`);
    const ids = found.map((x) => x.id);
    await (0,down/* recordRemoval */.m)(ctx, o.number, ids.length
        ? {
            what: `Instance ${ids.map(markdown/* codeSpan */.SS).join(', ')}`,
            reason: o.reason,
            stillTerminating: false,
        }
        : undefined);
    return { instances: ids };
}
/**
 * The warm pool of instances: `warm-pool` of them launched from the newest image and left to become
 * ready (the n+1 of the original design, applied to machines). Each sits in a slot (`slot-<i>`,
 * created without overwrite), so concurrent refills never launch more; spares in slots past the
 * size go.
 */
async function refillMachines(m, opts, ctx) {
    const now = ctx.now ?? Date.now;
    const spares = await m.list({ spares: true });
    const launched = [];
    const removed = [];
    for (let i = 0; i < opts.warmPool; i++) {
        if (spares.some((x) => x.slot === i))
            continue;
        const slot = await m.readParameter(`slot-${i}`);
        if (slot) {
            if (slot.value.startsWith('i-')) {
                const d = await m.describe(slot.value);
                if (d && alive(d) && d.spare)
                    continue;
            }
            else if (now() - slot.modifiedAt < claims/* PENDING_MS */.ls)
                continue;
            await m.deleteParameter(`slot-${i}`);
        }
        if (!(await m.putNew(`slot-${i}`, `pending ${iso(now())}`)))
            continue;
        try {
            const spare = await m.launch({ slot: i, images: [] });
            await m.put(`slot-${i}`, spare.id);
            launched.push(spare.id);
        }
        catch (e) {
            await m.deleteParameter(`slot-${i}`).catch(() => false);
            throw e;
        }
    }
    for (const extra of spares.filter((x) => x.slot === undefined || x.slot >= opts.warmPool)) {
        await m.terminate(extra, { waitMs: 0 });
        removed.push(extra.id);
    }
    if (launched.length)
        ctx.logger.info(`warm pool: launched ${launched.join(', ')}`);
    return { launched, removed };
}
/**
 * reap with `isolation: ec2`: the set's instances whose pull request is closed or unlabelled, whose
 * expiry passed, without a pull request, or spares that never became ready, terminated; then what
 * no live instance uses any more (security groups, claims, slots, kubeconfig parameters) removed;
 * then the warm pool refilled. Never an instance without the set's tags.
 */
async function reapMachines(opts, ctx, m, db, timing = {}) {
    const { logger } = ctx;
    const now = (ctx.now ?? Date.now)();
    const removed = [];
    const kept = [];
    const open = ctx.github
        ? new Map((await ctx.github.listOpenPullRequests()).map((p) => [p.number, p]))
        : undefined;
    if (!open)
        logger.warning('no GitHub token: pull requests are not looked up, only expired environments are removed');
    const all = await m.list();
    await logger.group(`Reap (${all.length} instance(s))`, async () => {
        for (const x of all) {
            let why;
            if (x.spare) {
                const age = now - Date.parse(x.launchedAt ?? '');
                if (age > m.opts.readyTimeoutMs && !(await m.kubeconfig(x)))
                    why = 'a warm instance that never became ready';
                else {
                    kept.push({ namespace: x.id, why: 'warm instance of the pool' });
                    continue;
                }
            }
            else if (!x.number)
                why = 'an orphan: no pull request';
            else if (x.expiresAt && Date.parse(x.expiresAt) <= now)
                why = `expired at ${x.expiresAt}`;
            else if (open && !open.has(x.number))
                why = `pull request #${x.number} is closed`;
            else if (open && !open.get(x.number).labels.includes(opts.label))
                why = `an orphan: pull request #${x.number} is no longer labeled '${opts.label}'`;
            if (!why) {
                kept.push({ namespace: x.id, number: x.number, why: `open until ${x.expiresAt ?? '?'}` });
                continue;
            }
            try {
                if (x.number)
                    await teardownMachine(m, ctx, db, {
                        number: x.number,
                        reason: why,
                        groupWaitMs: timing.groupWaitMs ?? 0,
                    });
                else
                    await m.terminate(x, { waitMs: 0 });
                removed.push({ namespace: x.id, ...(x.number ? { number: x.number } : {}), why });
                logger.info(`removed ${x.id}${x.number ? ` (#${x.number})` : ''}: ${why}`);
            }
            catch (e) {
                logger.warning(`could not remove ${x.id}: ${(0,errors/* errorMessage */.gJ)(e)}`);
            }
        }
        await sweep(m, ctx, all.filter((x) => !removed.some((r) => r.namespace === x.id)));
    });
    if (opts.warmPool > 0)
        await refillMachines(m, opts, ctx).catch((e) => logger.warning(`could not refill the warm pool of instances: ${(0,errors/* errorMessage */.gJ)(e)}`));
    const r = {
        ...(0,context/* emptyResult */.$)('reaped', `${removed.length} removed, ${kept.length} kept`),
        removed,
        kept,
    };
    r.summary = (0,summary/* renderFeatureEnvSummary */.W)(r);
    return r;
}
/**
 * What no live instance of the set uses any more: security groups (older than PENDING_MS: a young
 * one may be a launch in flight), and parameters (claims, slots, kubeconfigs) that name none.
 */
async function sweep(m, ctx, live) {
    const now = (ctx.now ?? Date.now)();
    const ids = new Set(live.map((x) => x.id));
    const inUse = new Set(live.flatMap((x) => x.securityGroups));
    for (const g of await m.groups({ olderThanMs: claims/* PENDING_MS */.ls }))
        if (!inUse.has(g) && (await m.deleteGroup(g, { waitMs: 0 })))
            ctx.logger.info(`removed security group ${g}: no instance uses it`);
    const parameters = new Set(live.map((x) => x.parameter));
    for (const p of await m.parameters()) {
        // Young ones may be a run's in flight (an instance launched after the list above): kept.
        if (now - p.modifiedAt < claims/* PENDING_MS */.ls)
            continue;
        const stale = p.name.startsWith('kubeconfig/')
            ? !parameters.has(`${m.root}/${p.name}`)
            : p.name.startsWith('claim-')
                ? !ids.has(p.name.slice('claim-'.length))
                : !p.value.startsWith('i-') || !ids.has(p.value);
        if (stale && (await m.deleteParameter(p.name)))
            ctx.logger.info(`removed parameter ${m.root}/${p.name}: nothing uses it`);
    }
}

;// CONCATENATED MODULE: ./lib/featureenv/machine/index.js
// The face of src/featureenv/machine: the EC2 provider (isolation: ec2).




/***/ })

};
