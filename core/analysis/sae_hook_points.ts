/**
 * SAELens's hook points inside an SAE attached to a model (`<hook>.hook_sae_acts_post`, ...).
 *
 * @module
 */

/** SAELens's hook points inside an SAE, in the order the SAE reaches them. */
export const SAE_HOOK_POINTS = [
  "hook_sae_input",
  "hook_sae_acts_pre",
  "hook_sae_acts_post",
  "hook_sae_recons",
  "hook_sae_error",
  "hook_sae_output",
] as const;

/** One of {@linkcode SAE_HOOK_POINTS}. */
export type SaeHookPoint = typeof SAE_HOOK_POINTS[number];
