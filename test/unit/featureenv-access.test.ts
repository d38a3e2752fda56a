import { describe, expect, it } from 'vitest';
import { EKS_GROUP, subjectOf } from '../../src/featureenv/access.js';

describe('the subject of the RoleBinding feature-env writes in each namespace', () => {
  it('a ServiceAccount: the account itself', () => {
    expect(
      subjectOf({
        username: 'system:serviceaccount:commit-to-cloud:feature-env',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      }),
    ).toEqual({ kind: 'ServiceAccount', name: 'feature-env', namespace: 'commit-to-cloud' });
  });

  it('an EKS role mapped to the documented group: the group, not the session username', () => {
    expect(
      subjectOf({
        username: 'arn:aws:sts::123456789012:assumed-role/fe/GitHubActions-5150',
        groups: [EKS_GROUP, 'system:authenticated'],
      }),
    ).toEqual({ kind: 'Group', name: 'commit-to-cloud-feature-env', apiGroup: 'rbac.authorization.k8s.io' });
  });

  it('any other identity: its username', () => {
    expect(subjectOf({ username: 'alice', groups: ['system:authenticated'] })).toEqual({
      kind: 'User',
      name: 'alice',
      apiGroup: 'rbac.authorization.k8s.io',
    });
  });
});
