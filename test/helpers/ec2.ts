import {
  CreateImageCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  RunInstancesCommand,
  type EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { T_KUBECONFIG } from '../../src/featureenv/machine/index.js';

/** A tag's value on an EC2 instance. */
export const tagOf = (i: Instance, k: string) => i.Tags?.find((t) => t.Key === k)?.Value;

/**
 * An account on moto as the EC2 provider expects it: a VPC and subnet, and two images of the
 * "Minikube Service" pipeline, the newer one (by creation date) with the name that sorts first.
 */
export async function prepareEc2Account(ec2: EC2Client): Promise<{ subnet: string; newestImage: string }> {
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.20.0.0/16' }))).Vpc!.VpcId!;
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: '10.20.1.0/24' }))).Subnet!
    .SubnetId!;
  const base = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0]!.ImageId!;
  const builder = (
    await ec2.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, SubnetId: subnet }))
  ).Instances![0]!.InstanceId!;
  await ec2.send(new CreateImageCommand({ InstanceId: builder, Name: 'minikube-service-b-older' }));
  // moto's creation dates have whole seconds.
  await new Promise((r) => setTimeout(r, 1100));
  const newestImage = (
    await ec2.send(new CreateImageCommand({ InstanceId: builder, Name: 'minikube-service-a-newer' }))
  ).ImageId!;
  return { subnet, newestImage };
}

/**
 * The instances' side, played by the test: every running instance tagged with a kubeconfig
 * parameter gets `kubeconfig` (the genuine control plane's) published there as a SecureString,
 * once, as its user data would. `publishing = false` makes instances that never publish.
 */
export function publishKubeconfigs(ec2: EC2Client, ssm: SSMClient, kubeconfig: string) {
  const published = new Set<string>();
  let busy = false;
  const state = {
    publishing: true,
    published,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    if (busy || !state.publishing) return;
    busy = true;
    void (async () => {
      const r = await ec2.send(
        new DescribeInstancesCommand({
          Filters: [
            { Name: 'tag-key', Values: [T_KUBECONFIG] },
            { Name: 'instance-state-name', Values: ['running'] },
          ],
        }),
      );
      for (const i of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
        const parameter = tagOf(i, T_KUBECONFIG);
        if (!parameter || published.has(i.InstanceId!) || !state.publishing) continue;
        published.add(i.InstanceId!);
        await ssm.send(
          new PutParameterCommand({
            Name: parameter,
            Value: kubeconfig,
            Type: 'SecureString',
            Overwrite: true,
          }),
        );
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, 100);
  return state;
}
