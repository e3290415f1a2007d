/**
 * Registers the built-in architectures. BatchTopK and Matryoshka BatchTopK SAEs load as JumpReLU,
 * the form SAELens saves them in (see `config.ts`).
 *
 * @module
 */

import { registerArchitecture } from "./registry.ts";
import { standard } from "./standard.ts";
import { topk } from "./topk.ts";
import { jumprelu } from "./jumprelu.ts";
import { gated } from "./gated.ts";
import { jumpReluTranscoder, transcoder } from "./transcoder.ts";

for (const architecture of [standard, topk, jumprelu, gated, transcoder, jumpReluTranscoder]) {
  registerArchitecture(architecture);
}
