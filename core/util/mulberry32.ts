/**
 * A small seeded random number generator (mulberry32), for draws that must repeat run to run.
 *
 * @module
 */

/** A generator whose whole state is one 32-bit word, so checkpoints can save and restore it. */
export interface SeededRandom {
  /** The next uniform number in [0, 1). */
  (): number;
  /** The current state: `mulberry32(state)` continues from here. */
  readonly state: number;
}

/**
 * Uniform numbers in [0, 1) from a 32-bit seed.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./mulberry32.ts";
 * const a = mulberry32(42), b = mulberry32(42);
 * console.log(a() === b()); // true
 * const resumed = mulberry32(a.state);
 * console.log(resumed() === a()); // true
 * ```
 *
 * @param seed Any integer (only its low 32 bits count), or a saved `state` to continue from.
 * @returns The generator.
 */
export function mulberry32(seed: number): SeededRandom {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.defineProperty(next, "state", { get: () => state }) as SeededRandom;
}
