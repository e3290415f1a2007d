/**
 * Whether an SAE is in the range SAELens users aim for: L0 10-100, fewer than 5% dead latents,
 * explained variance above 0.8. Said the same way in `sae train`'s log and its report.
 *
 * @module
 */

/** The ranges checked. */
export const HEALTHY = { l0: [10, 100] as const, deadFraction: 0.05, explainedVariance: 0.8 };

/** One check of the verdict. */
export interface VerdictCheck {
  /** What is checked, e.g. "L0". */
  name: string;
  /** Whether the value is in range. */
  ok: boolean;
  /** The value and the range, and what to change when it is out. */
  text: string;
}

/** The verdict on an SAE's sparsity and reconstruction. */
export interface SparsityVerdict {
  /** Whether every check passed. */
  ok: boolean;
  /** One line: "healthy" or what is wrong. */
  summary: string;
  /** Each check. */
  checks: VerdictCheck[];
}

/**
 * Judges an SAE's last L0, dead latents and explained variance against the ranges SAELens users use.
 *
 * @example
 * ```ts
 * import { sparsityVerdict } from "./sparsity_verdict.ts";
 * const v = sparsityVerdict({ l0: 351, dSae: 1024, dead: 0, deadWindow: 1000, explainedVariance: 0.97 });
 * console.log(v.ok, v.summary); // false not sparse: L0 351 of 1024 is above 100
 * ```
 *
 * @param m The SAE's figures: mean L0, width, dead latents and the window (steps) that defines them, explained variance.
 * @returns The verdict.
 */
export function sparsityVerdict(
  m: { l0: number; dSae: number; dead: number; deadWindow: number; explainedVariance: number },
): SparsityVerdict {
  const [lo, hi] = HEALTHY.l0;
  const deadShare = m.dead / m.dSae;
  const checks: VerdictCheck[] = [
    {
      name: "L0",
      ok: m.l0 >= lo && m.l0 <= hi,
      text: m.l0 > hi
        ? `L0 ${m.l0.toFixed(1)} of ${m.dSae} is above ${hi}: not sparse (raise the sparsity coefficient, or lower k)`
        : m.l0 < lo
        ? `L0 ${m.l0.toFixed(1)} is below ${lo}: very sparse, reconstruction suffers (lower the sparsity coefficient)`
        : `L0 ${m.l0.toFixed(1)} is within ${lo}-${hi}`,
    },
    {
      name: "dead latents",
      ok: deadShare < HEALTHY.deadFraction,
      text: `${m.dead} dead latents (${(100 * deadShare).toFixed(1)}%, no firing in the last ${m.deadWindow} steps) ${
        deadShare < HEALTHY.deadFraction ? "is under" : "is not under"
      } ${100 * HEALTHY.deadFraction}%`,
    },
    {
      name: "explained variance",
      ok: m.explainedVariance > HEALTHY.explainedVariance,
      text: `explained variance ${m.explainedVariance.toFixed(3)} ${
        m.explainedVariance > HEALTHY.explainedVariance ? "is above" : "is not above"
      } ${HEALTHY.explainedVariance}`,
    },
  ];
  const bad = checks.filter((c) => !c.ok);
  const summary = bad.length === 0
    ? "healthy: L0, dead latents and explained variance are in the ranges SAELens users aim for"
    : bad.map((c) =>
      c.name === "L0" && m.l0 > hi ? `not sparse: L0 ${m.l0.toFixed(0)} of ${m.dSae} is above ${hi}` : c.text
    )
      .join("; ");
  return { ok: bad.length === 0, summary, checks };
}
