import { C2CError, InputError } from '../../core/index.js';
import type { SourceLocation } from '../../core/index.js';
import { formatWhere } from './load.js';
import { asString, groupOf, kindOf, metadataOf, nameOf, namespaceOf, type JsonObject } from '../objects.js';

/**
 * The `namespace` input: namespaced objects that name no namespace get it; an object that names a
 * different one is an error (the user asked for one namespace and a manifest says another: that is
 * a mistake to stop at, not to guess about). Cluster-scoped objects are left alone.
 *
 * Whether a kind is namespaced is the cluster's to say (discovery); until the engine has asked, a
 * table of the well-known cluster-scoped kinds decides, and unknown kinds count as namespaced.
 */

/** Cluster-scoped kinds of Kubernetes itself, keyed `group/Kind` ('' is the core group). */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  '/Namespace',
  '/Node',
  '/PersistentVolume',
  '/ComponentStatus',
  'rbac.authorization.k8s.io/ClusterRole',
  'rbac.authorization.k8s.io/ClusterRoleBinding',
  'apiextensions.k8s.io/CustomResourceDefinition',
  'apiregistration.k8s.io/APIService',
  'storage.k8s.io/StorageClass',
  'storage.k8s.io/CSIDriver',
  'storage.k8s.io/CSINode',
  'storage.k8s.io/VolumeAttachment',
  'storage.k8s.io/VolumeAttributesClass',
  'scheduling.k8s.io/PriorityClass',
  'node.k8s.io/RuntimeClass',
  'networking.k8s.io/IngressClass',
  'networking.k8s.io/IPAddress',
  'networking.k8s.io/ServiceCIDR',
  'admissionregistration.k8s.io/MutatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingWebhookConfiguration',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicy',
  'admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding',
  'admissionregistration.k8s.io/MutatingAdmissionPolicy',
  'admissionregistration.k8s.io/MutatingAdmissionPolicyBinding',
  'certificates.k8s.io/CertificateSigningRequest',
  'certificates.k8s.io/ClusterTrustBundle',
  'flowcontrol.apiserver.k8s.io/FlowSchema',
  'flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration',
  'policy/PodSecurityPolicy',
  'resource.k8s.io/DeviceClass',
  'authentication.k8s.io/TokenReview',
  'authentication.k8s.io/SelfSubjectReview',
  'authorization.k8s.io/SubjectAccessReview',
  'authorization.k8s.io/SelfSubjectAccessReview',
  'authorization.k8s.io/SelfSubjectRulesReview',
]);

/** Whether a kind is namespaced: true, false, or undefined when the caller does not know. */
export type IsNamespaced = (apiVersion: string, kind: string) => boolean | undefined;

/** The built-in answer: cluster-scoped when the table says so, else namespaced. */
export function defaultIsNamespaced(apiVersion: string, kind: string): boolean {
  return !CLUSTER_SCOPED_KINDS.has(`${groupOf(apiVersion)}/${kind}`);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Checks the `namespace` input itself (a DNS-1123 label of at most 63 characters). */
export function validateNamespaceInput(namespace: string): void {
  if (namespace === '') return;
  if (namespace.length > 63 || !DNS1123_LABEL.test(namespace))
    throw new InputError(
      'namespace',
      `'${namespace}' is not a valid namespace name`,
      'lowercase letters, digits and -, starting and ending with a letter or digit, at most 63 characters',
    );
}

export interface NamespaceTarget {
  object: JsonObject;
  file?: string;
  line?: number;
}

/**
 * Sets `namespace` on every namespaced object that names none. Validates everything before changing
 * anything: contradictions are collected into one InputError('namespace', …) listing each
 * object with file:line. Returns the number of objects that received the namespace. With an empty
 * `namespace`, nothing changes (the kubeconfig context's namespace applies later).
 */
export function applyNamespace(
  targets: NamespaceTarget[],
  namespace: string,
  opts: { isNamespaced?: IsNamespaced } = {},
): number {
  validateNamespaceInput(namespace);
  if (namespace === '') return 0;
  const namespaced = (o: JsonObject) => {
    const apiVersion = asString(o.apiVersion) ?? '';
    const kind = kindOf(o);
    return opts.isNamespaced?.(apiVersion, kind) ?? defaultIsNamespaced(apiVersion, kind);
  };
  const contradictions: Array<{ text: string; where?: SourceLocation }> = [];
  const toSet: JsonObject[] = [];
  for (const t of targets) {
    if (!namespaced(t.object)) continue;
    const ns = namespaceOf(t.object);
    if (ns === undefined) toSet.push(t.object);
    else if (ns !== namespace) {
      const where = t.file ? { file: t.file, ...(t.line ? { line: t.line } : {}) } : undefined;
      contradictions.push({
        text: `${kindOf(t.object)}/${nameOf(t.object)} names namespace '${ns}'`,
        ...(where ? { where } : {}),
      });
    }
  }
  if (contradictions.length > 0) {
    const err = new InputError(
      'namespace',
      `is '${namespace}', but ${
        contradictions.length === 1
          ? `${formatWhere(contradictions[0]!.where)}${contradictions[0]!.text}`
          : `${contradictions.length} objects name another namespace:\n${contradictions.map((c) => `  ${formatWhere(c.where)}${c.text}`).join('\n')}\n`
      }`,
      `the manifests to name no namespace or '${namespace}', or the input 'namespace' to be empty`,
      contradictions[0]!.where ? { where: contradictions[0]!.where } : {},
    );
    // One annotation per object, as ManifestError offers.
    (err as InputError & { problems?: C2CError[] }).problems = contradictions.map(
      (c) => new C2CError(c.text, c.where ? { where: c.where } : {}),
    );
    throw err;
  }
  for (const o of toSet) metadataOf(o).namespace = namespace;
  return toSet.length;
}
