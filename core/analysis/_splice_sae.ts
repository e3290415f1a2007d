/**
 * One SAE spliced into a hook's activation through SAELens's SAE hook points: input, acts_pre, acts_post, recons,
 * error and output, each hooked and cached as asked, the output written back into the activation.
 *
 * @module
 */

import type { HostTensor } from "../gpu/tensor.ts";
import type { Tensor } from "../util/tensor.ts";
import { applyHookFns, type HookFn } from "../lm/hook_fn.ts";
import type { SAE } from "../sae/sae.ts";
import { saeInput, type SaeSite, writeSaeOutput } from "../sae/sae_on_model.ts";
import type { SaeHookPoint } from "./sae_hook_points.ts";

/** An SAE attached at its hook, where it reads and writes, and whether it adds the error term. */
export interface AttachedSae {
  sae: SAE;
  site: SaeSite;
  useErrorTerm: boolean;
}

/** Runs one SAE on a hook's activation through its hook points and writes its output back. */
export async function spliceSae(
  { sae, site, useErrorTerm }: AttachedSae,
  activation: HostTensor,
  positions: readonly number[],
  hooks: Map<string, HookFn[]>,
  cache: Map<string, HostTensor>,
  wanted: (name: string) => boolean,
): Promise<void> {
  const { d_in: dIn, d_sae: dSae } = sae.cfg;
  const [batch, pos] = activation.shape;
  const rows = batch * pos;
  const outShape = site.head === undefined ? [...activation.shape] : [batch, pos, dIn];
  const name = (point: SaeHookPoint) => `${site.hookName}.${point}`;
  const hooked = (point: SaeHookPoint) => hooks.has(name(point));
  const step = async (point: SaeHookPoint, t: HostTensor): Promise<HostTensor> => {
    const out = await applyHookFns(hooks.get(name(point)) ?? [], t, { name: name(point), positions });
    if (wanted(name(point))) cache.set(name(point), out);
    return out;
  };
  const read = async (make: () => { read(): Promise<Float32Array>; destroy(): void }) => {
    const t = make();
    try {
      return await t.read();
    } finally {
      t.destroy();
    }
  };

  const x = saeInput(site, activation, dIn);
  const input = await step("hook_sae_input", { shape: [batch, pos, dIn], data: new Float32Array(x.data) });
  let features: Tensor;
  if (hooked("hook_sae_acts_pre") || wanted(name("hook_sae_acts_pre"))) {
    const { features: clean, hiddenPre } = sae.encodeWithHiddenPre(input);
    const pre = await step("hook_sae_acts_pre", {
      shape: [batch, pos, dSae],
      data: await read(() => hiddenPre),
    });
    if (hooked("hook_sae_acts_pre")) {
      clean.destroy();
      features = sae.activate(pre, input);
    } else features = clean;
  } else features = sae.encode(input);
  const post = await step("hook_sae_acts_post", { shape: [batch, pos, dSae], data: await read(() => features) });
  const recons = await step("hook_sae_recons", {
    shape: [batch, pos, dIn],
    data: await read(() => sae.decode(post)),
  });
  let output: Float32Array;
  if (useErrorTerm) {
    // Unhooked, the reconstruction is the clean one; otherwise it is recomputed from x, hooks left out.
    const edited = ["hook_sae_input", "hook_sae_acts_pre", "hook_sae_acts_post", "hook_sae_recons"] as const;
    let clean = recons.data;
    if (edited.some(hooked)) {
      const f = sae.encode(x);
      clean = await read(() => sae.decode(f));
      f.destroy();
    }
    const error = await step("hook_sae_error", {
      shape: outShape,
      data: x.data.map((v, i) => v - clean[i]),
    });
    output = recons.data.map((v, i) => v + error.data[i]);
  } else output = new Float32Array(recons.data);
  const final = await step("hook_sae_output", { shape: outShape, data: output });
  writeSaeOutput(site, activation, final.data.subarray(0, rows * dIn));
}
