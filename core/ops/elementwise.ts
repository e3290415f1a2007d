/**
 * Launch geometry shared by the elementwise kernels: a flat index folded into x and y.
 *
 * @module
 */

import { MAX_WORKGROUPS_PER_DIM } from "../gpu/pipelines.ts";

/** Workgroup size of the elementwise kernels. */
export const ELEMENTWISE_WG = 64;

/**
 * Workgroups covering `count` invocations of {@linkcode ELEMENTWISE_WG}, folded into 2-D past WebGPU's guaranteed
 * per-dimension limit; the kernels index `gid.x + gid.y * num_workgroups.x * WG`, so the fold needs no constant.
 */
export function elementwiseGroups(count: number): [number, number] {
  const groups = Math.ceil(count / ELEMENTWISE_WG);
  return groups <= MAX_WORKGROUPS_PER_DIM
    ? [Math.max(groups, 1), 1]
    : [MAX_WORKGROUPS_PER_DIM, Math.ceil(groups / MAX_WORKGROUPS_PER_DIM)];
}
