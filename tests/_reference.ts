// Plain TypeScript references the kernels are checked against (f64 accumulation).

/** Deterministic pseudo-random numbers in [-1, 1) (mulberry32). */
export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/** a [m, k] · b [k, n]. */
export function matmulRef(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let kk = 0; kk < k; kk++) {
      const av = a[i * k + kk];
      if (av === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j] += av * b[kk * n + j];
    }
  }
  return c;
}

/** ReLU of the k largest entries of each row (ties to the lower index), zero elsewhere. */
export function topkRef(h: ArrayLike<number>, rows: number, n: number, k: number): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const idx = Array.from({ length: n }, (_, i) => i);
    idx.sort((a, b) => h[r * n + b] - h[r * n + a] || a - b);
    for (const i of idx.slice(0, k)) out[r * n + i] = Math.max(h[r * n + i], 0);
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(actual, expected);
  if (!(d <= tol)) throw new Error(`${what}: max abs difference ${d} exceeds ${tol}`);
}
