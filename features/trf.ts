/**
 * Unbounded nonlinear least squares by the Trust Region Reflective method, following the published
 * algorithm of scipy.optimize.least_squares(method='trf', jac='2-point', tr_solver='exact', loss='linear',
 * x_scale=1) step for step: the same forward-difference Jacobian, the same exact trust-region subproblem
 * solved through an SVD with the Levenberg-Marquardt parameter found by Newton iterations (More 1978), the
 * same radius update and the same ftol/xtol/gtol tests. Fink's early SN Ia features are whatever local
 * minimum that sequence of steps lands in, so matching Fink means following the same path, not just
 * minimising the same cost.
 *
 * Sized for the few-parameter fits of light-curve features: the SVD is a one-sided Jacobi on an m x n
 * column-major matrix.
 */

const EPS = 2.220446049250313e-16;
const SQRT_EPS = Math.sqrt(EPS);

/** Writes the residual vector of `x` into `out` (length m). */
export type ResidualFn = (x: Float64Array, out: Float64Array) => void;

export interface TrfOptions {
  ftol?: number;
  xtol?: number;
  gtol?: number;
  /** Defaults to 100 * n, as scipy. */
  maxNfev?: number;
}

export interface TrfResult {
  x: Float64Array;
  cost: number;
  nfev: number;
  /** scipy's status: 0 max_nfev, 1 gtol, 2 ftol, 3 xtol, 4 ftol and xtol. */
  status: number;
}

function norm(v: Float64Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  return Math.sqrt(s);
}

function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

/** Forward differences with scipy's step: sqrt(eps) * sign(x) * max(1, |x|), sign(0) = +1. */
function jacobian2Point(fun: ResidualFn, x: Float64Array, f0: Float64Array, m: number, J: Float64Array, xt: Float64Array, ft: Float64Array): void {
  const n = x.length;
  for (let j = 0; j < n; j++) {
    const sign = x[j] >= 0 ? 1 : -1;
    const h = SQRT_EPS * sign * Math.max(1, Math.abs(x[j]));
    xt.set(x);
    xt[j] = x[j] + h;
    const dx = xt[j] - x[j];
    fun(xt, ft);
    for (let i = 0; i < m; i++) J[j * m + i] = (ft[i] - f0[i]) / dx;
  }
}

interface Svd {
  /** m x k column-major left singular vectors (zero column where s = 0). */
  U: Float64Array;
  s: Float64Array;
  /** n x n column-major right singular vectors. */
  V: Float64Array;
}

/** Buffers for svd, allocated once per fit: the fit calls svd every iteration, and allocation was a third of its time. */
class SvdWorkspace {
  readonly W: Float64Array;
  readonly V: Float64Array;
  readonly sv: Float64Array;
  readonly order: Int32Array;
  readonly out: Svd;
  constructor(m: number, n: number) {
    this.W = new Float64Array(m * n);
    this.V = new Float64Array(n * n);
    this.sv = new Float64Array(n);
    this.order = new Int32Array(n);
    this.out = { U: new Float64Array(m * n), s: new Float64Array(n), V: new Float64Array(n * n) };
  }
}

/**
 * Thin SVD of a column-major m x n matrix (m >= n), singular values in decreasing order. The result lives in
 * the workspace and is overwritten by the next call.
 */
function svd(A: Float64Array, m: number, n: number, ws: SvdWorkspace): Svd {
  const W = ws.W;
  W.set(A);
  const V = ws.V;
  V.fill(0);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  // One-sided Jacobi (Hestenes): rotate column pairs until all are orthogonal to working precision.
  for (let sweep = 0; sweep < 40; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const wp = W[p * m + i];
          const wq = W[q * m + i];
          alpha += wp * wp;
          beta += wq * wq;
          gamma += wp * wq;
        }
        if (gamma === 0 || Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const wp = W[p * m + i];
          const wq = W[q * m + i];
          W[p * m + i] = c * wp - s * wq;
          W[q * m + i] = s * wp + c * wq;
        }
        for (let i = 0; i < n; i++) {
          const vp = V[p * n + i];
          const vq = V[q * n + i];
          V[p * n + i] = c * vp - s * vq;
          V[q * n + i] = s * vp + c * vq;
        }
      }
    }
    if (!rotated) break;
  }
  const sv = ws.sv;
  for (let j = 0; j < n; j++) {
    let ss = 0;
    for (let i = 0; i < m; i++) ss += W[j * m + i] * W[j * m + i];
    sv[j] = Math.sqrt(ss);
  }
  // order columns by decreasing singular value (insertion sort: n is tiny)
  const order = ws.order;
  for (let j = 0; j < n; j++) {
    let k = j;
    while (k > 0 && sv[order[k - 1]] < sv[j]) {
      order[k] = order[k - 1];
      k--;
    }
    order[k] = j;
  }
  const { U, s, V: Vs } = ws.out;
  for (let k = 0; k < n; k++) {
    const j = order[k];
    s[k] = sv[j];
    const inv = sv[j] > 0 ? 1 / sv[j] : 0;
    for (let i = 0; i < m; i++) U[k * m + i] = W[j * m + i] * inv;
    for (let i = 0; i < n; i++) Vs[k * n + i] = V[j * n + i];
  }
  return { U, s, V: Vs };
}

/** p = -V coef for an n x n column-major V. */
function combineColumns(V: Float64Array, coef: Float64Array, n: number, p: Float64Array): void {
  for (let r = 0; r < n; r++) {
    let v = 0;
    for (let k = 0; k < n; k++) v += V[k * n + r] * coef[k];
    p[r] = -v;
  }
}

/** phi(alpha) = ||p(alpha)|| - Delta and its derivative, into out[0], out[1]. */
function phiAndDerivative(alpha: number, suf: Float64Array, s: Float64Array, Delta: number, n: number, out: Float64Array): void {
  let pn = 0;
  let d = 0;
  for (let k = 0; k < n; k++) {
    const denom = s[k] * s[k] + alpha;
    pn += (suf[k] / denom) ** 2;
    d += (suf[k] * suf[k]) / (denom * denom * denom);
  }
  const pNorm = Math.sqrt(pn);
  out[0] = pNorm - Delta;
  out[1] = -d / pNorm;
}

/** Solution of min ||J p + f|| subject to ||p|| <= Delta, from the SVD of J (scipy's solve_lsq_trust_region). */
function solveTrustRegion(n: number, m: number, uf: Float64Array, s: Float64Array, V: Float64Array, Delta: number, initialAlpha: number): { p: Float64Array; alpha: number } {
  const suf = new Float64Array(n);
  for (let i = 0; i < n; i++) suf[i] = s[i] * uf[i];
  const fullRank = m >= n ? s[n - 1] > EPS * m * s[0] : false;
  const p = new Float64Array(n);
  const coef = new Float64Array(n);
  if (fullRank) {
    for (let k = 0; k < n; k++) coef[k] = uf[k] / s[k];
    combineColumns(V, coef, n, p);
    if (norm(p) <= Delta) return { p, alpha: 0 };
  }
  let alphaUpper = norm(suf) / Delta;
  let alphaLower = 0;
  const pd = new Float64Array(2);
  if (fullRank) {
    phiAndDerivative(0, suf, s, Delta, n, pd);
    alphaLower = -pd[0] / pd[1];
  }
  let alpha = initialAlpha;
  if (!fullRank && initialAlpha === 0) alpha = Math.max(0.001 * alphaUpper, Math.sqrt(alphaLower * alphaUpper));
  for (let it = 0; it < 10; it++) {
    if (alpha < alphaLower || alpha > alphaUpper) alpha = Math.max(0.001 * alphaUpper, Math.sqrt(alphaLower * alphaUpper));
    phiAndDerivative(alpha, suf, s, Delta, n, pd);
    const phi = pd[0];
    const phiPrime = pd[1];
    if (phi < 0) alphaUpper = alpha;
    const ratio = phi / phiPrime;
    alphaLower = Math.max(alphaLower, alpha - ratio);
    alpha -= ((phi + Delta) * ratio) / Delta;
    if (Math.abs(phi) < 0.01 * Delta) break;
  }
  for (let k = 0; k < n; k++) coef[k] = suf[k] / (s[k] * s[k] + alpha);
  combineColumns(V, coef, n, p);
  const scale = Delta / norm(p);
  for (let r = 0; r < n; r++) p[r] *= scale;
  return { p, alpha };
}

/** Minimises 0.5 * ||fun(x)||^2 from x0; see the module comment for what is reproduced. */
export function trfLeastSquares(fun: ResidualFn, x0: ArrayLike<number>, m: number, options: TrfOptions = {}): TrfResult {
  const ftol = options.ftol ?? 1e-8;
  const xtol = options.xtol ?? 1e-8;
  const gtol = options.gtol ?? 1e-8;
  const n = x0.length;
  const maxNfev = options.maxNfev ?? 100 * n;
  let x = Float64Array.from(x0);
  let f = new Float64Array(m);
  fun(x, f);
  if (!allFinite(f)) throw new RangeError('residuals are not finite at the initial point');
  let nfev = 1;
  const J = new Float64Array(m * n);
  const xt = new Float64Array(n);
  const ft = new Float64Array(m);
  jacobian2Point(fun, x, f, m, J, xt, ft);
  let cost = 0.5 * dot(f, f);
  const g = new Float64Array(n);
  gradient(J, f, m, n, g);
  let Delta = norm(x);
  if (Delta === 0) Delta = 1;
  let alpha = 0;
  let status = -1;
  const uf = new Float64Array(n);
  const Js = new Float64Array(m);
  const svdSpace = new SvdWorkspace(m, n);
  for (;;) {
    let gNorm = 0;
    for (let j = 0; j < n; j++) gNorm = Math.max(gNorm, Math.abs(g[j]));
    if (gNorm < gtol) status = 1;
    if (status !== -1 || nfev === maxNfev) break;
    const { U, s, V } = svd(J, m, n, svdSpace);
    for (let k = 0; k < n; k++) {
      let v = 0;
      for (let i = 0; i < m; i++) v += U[k * m + i] * f[i];
      uf[k] = v;
    }
    let actualReduction = -1;
    let xNew = x;
    let fNew = f;
    let costNew = cost;
    while (actualReduction <= 0 && nfev < maxNfev) {
      const tr = solveTrustRegion(n, m, uf, s, V, Delta, alpha);
      alpha = tr.alpha;
      const step = tr.p;
      // predicted reduction = -(0.5 ||J s||^2 + g.s)
      for (let i = 0; i < m; i++) {
        let v = 0;
        for (let j = 0; j < n; j++) v += J[j * m + i] * step[j];
        Js[i] = v;
      }
      const predicted = -(0.5 * dot(Js, Js) + dot(step, g));
      xNew = new Float64Array(n);
      for (let j = 0; j < n; j++) xNew[j] = x[j] + step[j];
      fNew = new Float64Array(m);
      fun(xNew, fNew);
      nfev++;
      const stepNorm = norm(step);
      if (!allFinite(fNew)) {
        Delta = 0.25 * stepNorm;
        continue;
      }
      costNew = 0.5 * dot(fNew, fNew);
      actualReduction = cost - costNew;
      let ratio: number;
      if (predicted > 0) ratio = actualReduction / predicted;
      else if (predicted === 0 && actualReduction === 0) ratio = 1;
      else ratio = 0;
      let DeltaNew = Delta;
      if (ratio < 0.25) DeltaNew = 0.25 * stepNorm;
      else if (ratio > 0.75 && stepNorm > 0.95 * Delta) DeltaNew = 2 * Delta;
      const ftolOk = actualReduction < ftol * cost && ratio > 0.25;
      const xtolOk = stepNorm < xtol * (xtol + norm(x));
      if (ftolOk && xtolOk) status = 4;
      else if (ftolOk) status = 2;
      else if (xtolOk) status = 3;
      if (status !== -1) break;
      alpha *= Delta / DeltaNew;
      Delta = DeltaNew;
    }
    if (actualReduction > 0) {
      x = xNew;
      f = fNew;
      cost = costNew;
      jacobian2Point(fun, x, f, m, J, xt, ft);
      gradient(J, f, m, n, g);
    }
  }
  return { x, cost, nfev, status: status === -1 ? 0 : status };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function gradient(J: Float64Array, f: Float64Array, m: number, n: number, g: Float64Array): void {
  for (let j = 0; j < n; j++) {
    let v = 0;
    for (let i = 0; i < m; i++) v += J[j * m + i] * f[i];
    g[j] = v;
  }
}
