// The face of src/featureenv/machine: the EC2 provider (isolation: ec2).
export { Machines, PORTS, T_KUBECONFIG, userData } from './ec2.js';
export type { Machine, MachinesOptions } from './ec2.js';
export { reapMachines, refillMachines, teardownMachine, upOnMachine } from './provider.js';
export type { MachineTiming } from './provider.js';
