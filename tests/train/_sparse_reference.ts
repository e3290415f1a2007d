// Plain float64 references for core/train/sparse_topk.ts. Each float result comes with a scale, the
// sum of the absolute values of its terms, against which tolerances are relative.

/** Row- and column-compressed kept entries, as SparseTopK lays them out. */
export interface Lists {
  rowPtr: Uint32Array;
  index: Uint32Array;
  value: Float32Array;
  rowOf: Uint32Array;
  colPtr: Uint32Array;
  colRow: Uint32Array;
  colEntry: Uint32Array;
}

/** A result and the sum of its terms' absolute values. */
export interface Scaled {
  value: Float64Array;
  scale: Float64Array;
}

export interface Rule {
  batch: boolean;
  mask?: Float32Array;
  relu: boolean;
}

/** The entries train_activation.wgsl's `threshold` (relu) or `auxk_select` (mask, no relu) keeps. */
export function referenceLists(pre: Float32Array, thresholds: Float32Array, rows: number, dSae: number, rule: Rule) {
  const keep = (r: number, j: number) => {
    const v = pre[r * dSae + j], t = rule.batch ? thresholds[0] : thresholds[r];
    return (rule.relu ? v > 0 : v !== 0) && v >= t && (!rule.mask || rule.mask[j] !== 0);
  };
  const index: number[] = [], value: number[] = [], rowOf: number[] = [], rowPtr = [0];
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < dSae; j++) {
      if (keep(r, j)) index.push(j), value.push(pre[r * dSae + j]), rowOf.push(r);
    }
    rowPtr.push(index.length);
  }
  const colRow: number[] = [], colEntry: number[] = [], colPtr = [0];
  for (let j = 0; j < dSae; j++) {
    for (let e = 0; e < index.length; e++) {
      if (index[e] === j) colRow.push(rowOf[e]), colEntry.push(e);
    }
    colPtr.push(colRow.length);
  }
  return {
    rowPtr: Uint32Array.from(rowPtr),
    index: Uint32Array.from(index),
    value: Float32Array.from(value),
    rowOf: Uint32Array.from(rowOf),
    colPtr: Uint32Array.from(colPtr),
    colRow: Uint32Array.from(colRow),
    colEntry: Uint32Array.from(colEntry),
  };
}

function scaled(n: number): Scaled {
  return { value: new Float64Array(n), scale: new Float64Array(n) };
}

/** x̂[r] = b_dec + Σ value · W_dec[index] over row r's entries with index < width. */
export function referenceDecode(l: Lists, wDec: Float32Array, bDec: Float32Array, dIn: number, width: number) {
  const rows = l.rowPtr.length - 1, out = scaled(rows * dIn);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dIn; d++) {
      let s = bDec[d], a = Math.abs(bDec[d]);
      for (let e = l.rowPtr[r]; e < l.rowPtr[r + 1]; e++) {
        if (l.index[e] >= width) continue;
        const t = l.value[e] * wDec[l.index[e] * dIn + d];
        s += t, a += Math.abs(t);
      }
      out.value[r * dIn + d] = s, out.scale[r * dIn + d] = a;
    }
  }
  return out;
}

/** ∂value[e] = dOut[row] · W_dec[index] for entries in [start, end); `prior` elsewhere. */
export function referenceValueGrad(
  l: Lists,
  dOut: Float32Array,
  wDec: Float32Array,
  dIn: number,
  start: number,
  end: number,
  prior: Scaled,
): Scaled {
  const out = { value: prior.value.slice(), scale: prior.scale.slice() };
  for (let e = 0; e < l.index.length; e++) {
    const j = l.index[e];
    if (j < start || j >= end) continue;
    let s = 0, a = 0;
    for (let d = 0; d < dIn; d++) {
      const t = dOut[l.rowOf[e] * dIn + d] * wDec[j * dIn + d];
      s += t, a += Math.abs(t);
    }
    out.value[e] = s, out.scale[e] = a;
  }
  return out;
}

/** W_dec.grad[j] = start[j] + Σ value · dOut[r] over entries (r, j), j in [start, end). */
export function referenceDecoderGrad(
  l: Lists,
  dOut: Float32Array,
  grad: Scaled,
  dIn: number,
  start: number,
  end: number,
): Scaled {
  const out = { value: grad.value.slice(), scale: grad.scale.slice() };
  for (let e = 0; e < l.index.length; e++) {
    const j = l.index[e];
    if (j < start || j >= end) continue;
    for (let d = 0; d < dIn; d++) {
      const t = l.value[e] * dOut[l.rowOf[e] * dIn + d];
      out.value[j * dIn + d] += t, out.scale[j * dIn + d] += Math.abs(t);
    }
  }
  return out;
}

/** W_enc.grad [dIn, dSae] and b_enc.grad [dSae] plus the sums over entries of x_in · ∂pre and ∂pre. */
export function referenceEncoderGrad(
  l: Lists,
  xIn: Float32Array,
  dpre: Float64Array,
  wEncGrad: Scaled,
  bEncGrad: Scaled,
  dIn: number,
  dSae: number,
): { wEnc: Scaled; bEnc: Scaled } {
  const wEnc = { value: wEncGrad.value.slice(), scale: wEncGrad.scale.slice() };
  const bEnc = { value: bEncGrad.value.slice(), scale: bEncGrad.scale.slice() };
  for (let e = 0; e < l.index.length; e++) {
    const j = l.index[e], g = dpre[e];
    bEnc.value[j] += g, bEnc.scale[j] += Math.abs(g);
    for (let d = 0; d < dIn; d++) {
      const t = xIn[l.rowOf[e] * dIn + d] * g;
      wEnc.value[d * dSae + j] += t, wEnc.scale[d * dSae + j] += Math.abs(t);
    }
  }
  return { wEnc, bEnc };
}

/** A starting value with itself as scale. */
export function start(v: Float32Array): Scaled {
  return { value: Float64Array.from(v), scale: Float64Array.from(v, Math.abs) };
}
