/**
 * Minuit's MIGRAD (the variable-metric minimiser of Minuit2, as iminuit runs it with strategy 0), written
 * from its published algorithm (F. James, "MINUIT Tutorial: function minimization"; the Minuit2 user
 * guide): a seed from numerical first and second derivatives, a line search by parabolic interpolation
 * along -V g, Davidon's update of the inverse Hessian V, and the stopping rule EDM = g'Vg / 2 below
 * 0.002 * tolerance * errordef.
 *
 * Why follow its steps rather than just minimise: a fit that stops at EDM < 1e-4 is not at the minimum;
 * in a flat valley the point where it stops depends on the path. Fink's Rainbow features are that point,
 * so matching them means taking the same steps (the same reason features/trf.ts follows scipy's TRF).
 *
 * Parameters have no bounds here (Rainbow keeps them in range with a barrier in the cost). The cost may
 * return NaN or Infinity; every comparison then fails the way IEEE arithmetic makes it fail in C++.
 */

/** Minuit's machine precision: 4 * 2^-52, and 2 sqrt(eps) for derivative steps. */
const EPS = 4 * 2.220446049250313e-16;
const EPS2 = 2 * Math.sqrt(EPS);

export interface MigradFunction {
  readonly n: number;
  /** The cost at x. */
  value(x: Float64Array): number;
  /** The analytic gradient at x into out. */
  gradient(x: Float64Array, out: Float64Array): void;
}

export interface MigradOptions {
  /** Initial step sizes (iminuit: 1% of the starting value, 0.1 where it is 0). */
  readonly errors: ArrayLike<number>;
  /** 0.5 for a negative log-likelihood, 1 for a chi2. */
  readonly errordef: number;
  /** iminuit's tol; EDM goal = 0.002 * tol * errordef. */
  readonly tolerance: number;
  /** Function-call limit; Minuit's default 200 + 100 n + 5 n^2 when omitted. */
  readonly maxCalls?: number;
  /** A covariance to start from (n x n, full storage), e.g. Hesse's; diag(1 / g2) when omitted. */
  readonly covariance?: Float64Array;
}

export interface MigradResult {
  readonly x: Float64Array;
  readonly fval: number;
  readonly edm: number;
  /** The inverse-Hessian estimate at the end (n x n), Minuit's covariance. */
  readonly V: Float64Array;
  /** The gradient at x (analytic, or the seed's numerical one if no step was taken). */
  readonly g: Float64Array;
  readonly callLimit: boolean;
  readonly calls: number;
  readonly gradientCalls: number;
  /** Minuit's is_valid: converged below ten times the EDM goal, within the call limit, finite. */
  readonly valid: boolean;
  readonly reason: string;
}

/** Gradient with the second derivatives and step sizes the numerical calculator keeps. */
interface Derivatives {
  g: Float64Array;
  g2: Float64Array;
  gstep: Float64Array;
}

class CountedFunction {
  calls = 0;
  gradientCalls = 0;
  constructor(readonly f: MigradFunction) {}
  value(x: Float64Array): number {
    this.calls++;
    return this.f.value(x);
  }
  gradient(x: Float64Array, out: Float64Array): void {
    this.gradientCalls++;
    this.f.gradient(x, out);
  }
}

/** V (symmetric, full storage n x n) times v. */
function symMul(V: Float64Array, v: Float64Array, n: number, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += V[i * n + j] * v[j];
    out[i] = s;
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** g'Vg / 2. */
function estimatedDistance(g: Float64Array, V: Float64Array, n: number): number {
  const t = symMul(V, g, n, new Float64Array(n));
  return 0.5 * dot(g, t);
}

/** Sum of |elements| over the lower triangle (Minuit keeps symmetric matrices packed). */
function absSumPacked(V: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) s += Math.abs(V[i * n + j]);
  return s;
}

/** The first-guess derivatives from the step sizes alone (Minuit's initial gradient). */
function initialDerivatives(x: Float64Array, errors: ArrayLike<number>, errordef: number): Derivatives {
  const n = x.length;
  const d: Derivatives = { g: new Float64Array(n), g2: new Float64Array(n), gstep: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const dirin = 0.5 * (Math.abs(v + errors[i] - v) + Math.abs(v - errors[i] - v));
    d.g2[i] = (2 * errordef) / (dirin * dirin);
    d.gstep[i] = Math.max(8 * EPS2 * (Math.abs(v) + EPS2), 0.1 * dirin);
    d.g[i] = d.g2[i] * dirin;
  }
  return d;
}

/**
 * Central differences, refined in up to two cycles with a step chosen from the last second derivative
 * (strategy 0: two cycles, step tolerance 0.5, gradient tolerance 0.1).
 */
function numericalDerivatives(fn: CountedFunction, x0: Float64Array, fval: number, start: Derivatives, errordef: number): Derivatives {
  const n = x0.length;
  const g = Float64Array.from(start.g);
  const g2 = Float64Array.from(start.g2);
  const gstep = Float64Array.from(start.gstep);
  const dfmin = 8 * EPS2 * (Math.abs(fval) + errordef);
  const vrysml = 8 * EPS * EPS;
  const x = Float64Array.from(x0);
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const epspri = EPS2 + Math.abs(g[i] * EPS2);
    let stepBefore = 0;
    for (let cycle = 0; cycle < 2; cycle++) {
      const optimal = Math.sqrt(dfmin / (Math.abs(g2[i]) + epspri));
      let step = Math.max(optimal, Math.abs(0.1 * gstep[i]));
      const stepMax = 10 * Math.abs(gstep[i]);
      if (step > stepMax) step = stepMax;
      const stepMin = Math.max(vrysml, 8 * Math.abs(EPS2 * x[i]));
      if (step < stepMin) step = stepMin;
      if (Math.abs((step - stepBefore) / step) < 0.5) break;
      gstep[i] = step;
      stepBefore = step;
      x[i] = xi + step;
      const f1 = fn.value(x);
      x[i] = xi - step;
      const f2 = fn.value(x);
      x[i] = xi;
      const gBefore = g[i];
      g[i] = (0.5 * (f1 - f2)) / step;
      g2[i] = (f1 + f2 - 2 * fval) / step / step;
      if (Math.abs(gBefore - g[i]) / (Math.abs(g[i]) + dfmin / step) < 0.1) break;
    }
  }
  return { g, g2, gstep };
}

/**
 * One-dimensional search for the minimum of f(x0 + slam * step), slam from 0, where f(x0) = f0 and the
 * slope at 0 is gdel: a first parabola from f0, gdel and f(1), then parabolas through three points, at
 * most 12 evaluations. Returns [slam, f] of the lowest point seen.
 */
function lineSearch(fn: CountedFunction, x0: Float64Array, f0: number, step: Float64Array, gdel: number): [number, number] {
  const n = x0.length;
  const at = new Float64Array(n);
  const evalAt = (slam: number): number => {
    for (let i = 0; i < n; i++) at[i] = x0[i] + slam * step[i];
    return fn.value(at);
  };
  let overal = 1000;
  let undral = -100;
  const toler = 0.05;
  const slambg = 5;
  const alpha = 2;
  const maxiter = 12;
  let niter = 1;
  let slamin = 0;
  for (let i = 0; i < n; i++) {
    if (step[i] === 0) continue;
    const ratio = Math.abs(x0[i] / step[i]);
    if (slamin === 0) slamin = ratio;
    if (ratio < slamin) slamin = ratio;
  }
  if (Math.abs(slamin) < EPS) slamin = EPS;
  slamin *= EPS2;

  // the first point: the full Newton step
  const f1 = evalAt(1);
  niter++;
  let fvmin = f0;
  let xvmin = 0;
  if (f1 < f0) {
    fvmin = f1;
    xvmin = 1;
  }
  let toler8 = toler;
  let slamax = slambg;
  let flast = f1;
  let slam = 1;
  let p0x = 0;
  let p0y = f0;
  let p1x = slam;
  let p1y = flast;
  let f2 = 0;
  let iterate: boolean;
  do {
    iterate = false;
    let denom = (2 * (flast - f0 - gdel * slam)) / (slam * slam);
    if (denom !== 0) slam = -gdel / denom;
    else {
      denom = -0.1 * gdel;
      slam = 1;
    }
    if (slam < 0) slam = slamax;
    if (slam > slamax) slam = slamax;
    if (slam < toler8) slam = toler8;
    if (slam < slamin) return [xvmin, fvmin];
    if (Math.abs(slam - 1) < toler8 && p1y < p0y) return [xvmin, fvmin];
    if (Math.abs(slam - 1) < toler8) slam = 1 + toler8;
    f2 = evalAt(slam);
    niter++;
    if (f2 < fvmin) {
      fvmin = f2;
      xvmin = slam;
    }
    // no progress yet: shrink the tolerance around this point and try again
    if (Math.abs(p0y - fvmin) < Math.abs(fvmin) * EPS) {
      iterate = true;
      flast = f2;
      toler8 = toler * slam;
      overal = slam - toler8;
      slamax = overal;
      p1x = slam;
      p1y = flast;
    }
  } while (iterate && niter < maxiter);
  if (niter >= maxiter) return [xvmin, fvmin];

  let p2x = slam;
  let p2y = f2;
  do {
    slamax = Math.max(slamax, alpha * Math.abs(xvmin));
    // parabola through the three points, centred for accuracy
    const dx12 = p0x - p1x;
    const dx13 = p0x - p2x;
    const dx23 = p1x - p2x;
    const xm = (p0x + p1x + p2x) / 3;
    const x1 = p0x - xm;
    const x2 = p1x - xm;
    const x3 = p2x - xm;
    const a = p0y / (dx12 * dx13) - p1y / (dx12 * dx23) + p2y / (dx13 * dx23);
    let b = (-p0y * (x2 + x3)) / (dx12 * dx13) + (p1y * (x1 + x3)) / (dx12 * dx23) - (p2y * (x1 + x2)) / (dx13 * dx23);
    b -= 2 * xm * a;
    if (a < EPS2) {
      const slopem = 2 * a * xvmin + b;
      slam = slopem < 0 ? xvmin + slamax : xvmin - slamax;
    } else {
      slam = -b / (2 * a);
      if (slam > xvmin + slamax) slam = xvmin + slamax;
      if (slam < xvmin - slamax) slam = xvmin - slamax;
    }
    if (slam > 0) {
      if (slam > overal) slam = overal;
    } else if (slam < undral) slam = undral;

    let f3 = 0;
    do {
      iterate = false;
      const toler9 = Math.max(toler8, Math.abs(toler8 * slam));
      if (Math.abs(p0x - slam) < toler9 || Math.abs(p1x - slam) < toler9 || Math.abs(p2x - slam) < toler9) return [xvmin, fvmin];
      f3 = evalAt(slam);
      // worse than all three: halve the way back towards the best point
      if (f3 > p0y && f3 > p1y && f3 > p2y) {
        if (slam > xvmin) overal = Math.min(overal, slam - toler8);
        if (slam < xvmin) undral = Math.max(undral, slam + toler8);
        slam = 0.5 * (slam + xvmin);
        iterate = true;
        niter++;
      }
    } while (iterate && niter < maxiter);
    if (niter >= maxiter) return [xvmin, fvmin];

    // replace the worst of the three points
    if (p0y > p1y && p0y > p2y) {
      p0x = slam;
      p0y = f3;
    } else if (p1y > p0y && p1y > p2y) {
      p1x = slam;
      p1y = f3;
    } else {
      p2x = slam;
      p2y = f3;
    }
    if (f3 < fvmin) {
      fvmin = f3;
      xvmin = slam;
    } else {
      if (slam > xvmin) overal = Math.min(overal, slam - toler8);
      if (slam < xvmin) undral = Math.max(undral, slam + toler8);
    }
    niter++;
  } while (niter < maxiter);
  return [xvmin, fvmin];
}

/**
 * Where the seed has a non-positive second derivative: a line search along that coordinate, then new
 * numerical derivatives, until none is left (at most 2n rounds).
 */
function negativeG2Search(fn: CountedFunction, x: Float64Array, fval: number, d: Derivatives, errordef: number): { x: Float64Array; fval: number; d: Derivatives } {
  const n = x.length;
  let iter = 0;
  let iterate: boolean;
  do {
    iterate = false;
    for (let i = 0; i < n; i++) {
      if (d.g2[i] > 0) continue;
      if (Math.abs(d.g[i]) < EPS && Math.abs(d.g2[i]) < EPS) continue;
      const step = new Float64Array(n);
      step[i] = d.g[i] < 0 ? d.gstep[i] : -d.gstep[i];
      const gdel = step[i] * d.g[i];
      const [slam, f] = lineSearch(fn, x, fval, step, gdel);
      const moved = new Float64Array(n);
      for (let k = 0; k < n; k++) moved[k] = x[k] + step[k] * slam;
      x = moved;
      fval = f;
      d = numericalDerivatives(fn, x, fval, d, errordef);
      iterate = true;
      break;
    }
  } while (iter++ < 2 * n && iterate);
  return { x, fval, d };
}

/** Davidon's rank-two update of V (rank one when delta_x . delta_g > dg'V dg); returns the new dcovar. */
function davidonUpdate(V: Float64Array, n: number, dx: Float64Array, dg: Float64Array, dcovar: number): number {
  const delgam = dot(dx, dg);
  const vg = symMul(V, dg, n, new Float64Array(n));
  const gvg = dot(dg, vg);
  if (delgam === 0 || gvg <= 0) return dcovar;
  const upd = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) upd[i * n + j] = (dx[i] * dx[j]) / delgam - (vg[i] * vg[j]) / gvg;
  }
  if (delgam > gvg) {
    const flnu = new Float64Array(n);
    for (let i = 0; i < n; i++) flnu[i] = dx[i] / delgam - vg[i] / gvg;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) upd[i * n + j] += gvg * flnu[i] * flnu[j];
  }
  const sumUpdate = absSumPacked(upd, n);
  for (let k = 0; k < n * n; k++) V[k] += upd[k];
  return 0.5 * (dcovar + sumUpdate / absSumPacked(V, n));
}

/** Eigenvalues of a small symmetric matrix (cyclic Jacobi), ascending. */
function symmetricEigenvalues(A: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(A);
  for (let sweep = 0; sweep < 50; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  const ev = new Float64Array(n);
  for (let i = 0; i < n; i++) ev[i] = a[i * n + i];
  return ev.sort();
}

/** Makes V positive definite the way Minuit does: shift the diagonal, then add to it until it is. */
function makePositiveDefinite(V: Float64Array, n: number): boolean {
  const epspdf = Math.max(1e-6, EPS2);
  let dgmin = V[0];
  for (let i = 0; i < n; i++) if (V[i * n + i] < dgmin) dgmin = V[i * n + i];
  const dg = dgmin <= 0 ? 0.5 + epspdf - dgmin : 0;
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    V[i * n + i] += dg;
    if (V[i * n + i] < 0) V[i * n + i] = 1;
    s[i] = 1 / Math.sqrt(V[i * n + i]);
  }
  const p = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) p[i * n + j] = V[i * n + j] * s[i] * s[j];
  const ev = symmetricEigenvalues(p, n);
  const pmin = ev[0];
  const pmax = Math.max(Math.abs(ev[n - 1]), 1);
  if (pmin > epspdf * pmax) return false;
  const padd = 0.001 * pmax - pmin;
  for (let i = 0; i < n; i++) V[i * n + i] *= 1 + padd;
  return true;
}

/** Runs MIGRAD once from x0 (iminuit's Minuit.migrad() with strategy 0 on a fresh state). */
export function migrad(f: MigradFunction, x0: ArrayLike<number>, options: MigradOptions): MigradResult {
  const n = f.n;
  const fn = new CountedFunction(f);
  const up = options.errordef;
  const maxCalls = options.maxCalls ?? 200 + 100 * n + 5 * n * n;
  const edmGoal = Math.max(options.tolerance * up, EPS2) * 0.002;

  // seed: numerical derivatives, V = diag(1 / g2)
  let x: Float64Array = Float64Array.from(x0);
  let fval = fn.value(x);
  let d = numericalDerivatives(fn, x, fval, initialDerivatives(x, options.errors, up), up);
  if (d.g2.some((v) => v <= 0)) ({ x, fval, d } = negativeG2Search(fn, x, fval, d, up));
  const V = new Float64Array(n * n);
  let dcovar = 1;
  if (options.covariance && !(d.g2.some((v) => v <= 0))) {
    V.set(options.covariance);
    dcovar = 0;
  } else {
    for (let i = 0; i < n; i++) V[i * n + i] = Math.abs(d.g2[i]) > EPS2 ? 1 / d.g2[i] : 1;
  }
  let g = d.g;
  let edm = estimatedDistance(g, V, n);
  const trace = process.env.SIEVE_MIGRAD_TRACE === '1';
  if (trace) process.stderr.write(`seed FCN = ${fval} Edm = ${edm} NCalls = ${fn.calls} g = ${Array.from(g).join(' ')} g2 = ${Array.from(d.g2).join(' ')}\n`);
  let reason = 'converged';
  // the state's own estimate; the loop tests it inflated by (1 + 3 dcovar), Minuit's doubt about V
  let stateEdm = edm;
  if (edm < 0) reason = 'initial matrix not positive definite';
  else {
    edm *= 1 + 3 * dcovar;
    const step = new Float64Array(n);
    const gNew = new Float64Array(n);
    const dx = new Float64Array(n);
    const dg = new Float64Array(n);
    do {
      if (dot(g, g) <= 0) break;
      symMul(V, g, n, step);
      for (let i = 0; i < n; i++) step[i] = -step[i];
      let gdel = dot(step, g);
      if (gdel > 0) {
        if (makePositiveDefinite(V, n)) dcovar = 1;
        symMul(V, g, n, step);
        for (let i = 0; i < n; i++) step[i] = -step[i];
        gdel = dot(step, g);
        if (gdel > 0) {
          reason = 'matrix not positive definite';
          break;
        }
      }
      const [slam, fNew] = lineSearch(fn, x, fval, step, gdel);
      if (Math.abs(fNew - fval) <= Math.abs(fval) * EPS) {
        reason = 'no improvement in line search';
        break;
      }
      const xNew = new Float64Array(n);
      for (let i = 0; i < n; i++) xNew[i] = x[i] + slam * step[i];
      fn.gradient(xNew, gNew);
      let edmNew = estimatedDistance(gNew, V, n);
      if (Number.isNaN(edmNew)) {
        reason = 'EDM is NaN';
        break;
      }
      if (edmNew < 0) {
        if (makePositiveDefinite(V, n)) dcovar = 1;
        edmNew = estimatedDistance(gNew, V, n);
        if (edmNew < 0) {
          reason = 'matrix not positive definite';
          break;
        }
      }
      for (let i = 0; i < n; i++) {
        dx[i] = xNew[i] - x[i];
        dg[i] = gNew[i] - g[i];
      }
      dcovar = davidonUpdate(V, n, dx, dg, dcovar);
      x = xNew;
      fval = fNew;
      g = Float64Array.from(gNew);
      stateEdm = edmNew;
      edm = edmNew * (1 + 3 * dcovar);
      if (trace) process.stderr.write(`iter FCN = ${fval} Edm = ${stateEdm} NCalls = ${fn.calls} slam = ${slam} dcovar = ${dcovar}\n`);
    } while (edm > edmGoal && fn.calls < maxCalls);
  }
  const callLimit = fn.calls >= maxCalls;
  // Minuit's verdict on the last state: not above ten times the goal (a NaN compares false, as in C++)
  const valid = !callLimit && !(stateEdm > 10 * edmGoal) && Number.isFinite(fval);
  if (callLimit) reason = 'call limit';
  else if (!valid && reason === 'converged') reason = 'EDM above ten times the goal';
  return { x, fval, edm: stateEdm, V, g: Float64Array.from(g), callLimit, calls: fn.calls, gradientCalls: fn.gradientCalls, valid, reason };
}

export interface HesseResult {
  /** The inverse of the numerical Hessian (made positive definite where needed). */
  readonly V: Float64Array;
  readonly edm: number;
  /** 'accurate', 'made-positive-definite', 'failed' (a zero second derivative, or no inverse). */
  readonly status: 'accurate' | 'made-positive-definite' | 'failed';
  readonly calls: number;
}

/**
 * Minuit's HESSE (strategy 0: three cycles, step tolerance 0.5, g2 tolerance 0.1) at x: second
 * derivatives by finite differences with steps sized for a sagitta of sqrt(eps2) (|f| + errordef), the
 * off-diagonal terms from one more point each, made positive definite and inverted. `g` is the gradient
 * the minimiser ended with (analytic), `errors` the step sizes its covariance implies.
 */
export function hesse(f: MigradFunction, x0: ArrayLike<number>, fval: number, g: Float64Array, errors: ArrayLike<number>, errordef: number): HesseResult {
  const n = f.n;
  const fn = new CountedFunction(f);
  const x = Float64Array.from(x0);
  const amin = fn.value(x);
  const aimsag = Math.sqrt(EPS2) * (Math.abs(amin) + errordef);
  // the gradient was analytic: step sizes and second derivatives from a numerical pass first
  const numerical = numericalDerivatives(fn, x, fval, initialDerivatives(x, errors, errordef), errordef);
  const g2 = Float64Array.from(numerical.g2);
  const gst = Float64Array.from(numerical.gstep);
  const dirin = Float64Array.from(numerical.gstep);
  const grd = Float64Array.from(g);
  const yy = new Float64Array(n);
  const H = new Float64Array(n * n);
  const failed = (): HesseResult => {
    const D = new Float64Array(n * n);
    for (let j = 0; j < n; j++) {
      const t = g2[j] < EPS2 ? 1 : 1 / g2[j];
      D[j * n + j] = t < EPS2 ? 1 : t;
    }
    return { V: D, edm: NaN, status: 'failed', calls: fn.calls };
  };
  for (let i = 0; i < n; i++) {
    const xi = x[i];
    const dmin = 8 * EPS2 * (Math.abs(xi) + EPS2);
    let d = Math.abs(gst[i]);
    if (d < dmin) d = dmin;
    for (let cycle = 0; cycle < 3; cycle++) {
      let sag = 0;
      let fs1 = 0;
      let fs2 = 0;
      let found = false;
      for (let multiply = 0; multiply < 5; multiply++) {
        x[i] = xi + d;
        fs1 = fn.value(x);
        x[i] = xi - d;
        fs2 = fn.value(x);
        x[i] = xi;
        sag = 0.5 * (fs1 + fs2 - 2 * amin);
        if (sag !== 0) {
          found = true;
          break;
        }
        d *= 10;
      }
      if (!found) return failed();
      const g2Before = g2[i];
      g2[i] = (2 * sag) / (d * d);
      grd[i] = (fs1 - fs2) / (2 * d);
      gst[i] = d;
      dirin[i] = d;
      yy[i] = fs1;
      const dLast = d;
      d = Math.sqrt((2 * aimsag) / Math.abs(g2[i]));
      if (d < dmin) d = dmin;
      if (Math.abs((d - dLast) / d) < 0.5) break;
      if (Math.abs((g2[i] - g2Before) / g2[i]) < 0.1) break;
      d = Math.min(d, 10 * dLast);
      d = Math.max(d, 0.1 * dLast);
    }
    H[i * n + i] = g2[i];
    if (fn.calls > 200 + 100 * n + 5 * n * n) return failed();
  }
  for (let i = 0; i < n; i++) {
    x[i] += dirin[i];
    for (let j = i + 1; j < n; j++) {
      x[j] += dirin[j];
      const fs1 = fn.value(x);
      const elem = (fs1 + amin - yy[i] - yy[j]) / (dirin[i] * dirin[j]);
      H[i * n + j] = elem;
      H[j * n + i] = elem;
      x[j] -= dirin[j];
    }
    x[i] -= dirin[i];
  }
  const madePositive = makePositiveDefinite(H, n);
  const V = invertSymmetric(H, n);
  if (!V) return failed();
  const edm = estimatedDistance(grd, V, n);
  return { V, edm, status: madePositive ? 'made-positive-definite' : 'accurate', calls: fn.calls };
}

/** Inverse of a symmetric positive-definite matrix by Gauss-Jordan with pivoting; null when singular. */
function invertSymmetric(A: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(A);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[piv * n + c])) piv = r;
    if (a[piv * n + c] === 0 || !Number.isFinite(a[piv * n + c])) return null;
    if (piv !== c) {
      for (let k = 0; k < n; k++) {
        [a[c * n + k], a[piv * n + k]] = [a[piv * n + k], a[c * n + k]];
        [inv[c * n + k], inv[piv * n + k]] = [inv[piv * n + k], inv[c * n + k]];
      }
    }
    const p = a[c * n + c];
    for (let k = 0; k < n; k++) {
      a[c * n + k] /= p;
      inv[c * n + k] /= p;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const fct = a[r * n + c];
      if (fct === 0) continue;
      for (let k = 0; k < n; k++) {
        a[r * n + k] -= fct * a[c * n + k];
        inv[r * n + k] -= fct * inv[c * n + k];
      }
    }
  }
  // symmetrise: the packed storage Minuit keeps has one value per pair
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) inv[i * n + j] = inv[j * n + i];
  return inv;
}

/** Step sizes a covariance implies, as Minuit's user state keeps them: sqrt(2 errordef V_ii). */
export function errorsFromCovariance(V: Float64Array, n: number, errordef: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sqrt(2 * errordef * V[i * n + i]));
}

export interface SimplexResult {
  readonly x: Float64Array;
  readonly fval: number;
  /** Step sizes for what follows: the simplex's extent scaled to errordef / EDM. */
  readonly errors: Float64Array;
  readonly valid: boolean;
  readonly calls: number;
}

/**
 * Minuit's SIMPLEX (Nelder and Mead with Minuit's constants: reflection 1, contraction 0.5, expansion 2,
 * rho in [4, 8] along the line through the centroid), from x0 with steps 10 x the initial gradient's step
 * sizes; stops when the spread of the simplex's values drops below tolerance x errordef.
 */
export function simplex(f: MigradFunction, x0: ArrayLike<number>, errors: ArrayLike<number>, errordef: number, tolerance: number): SimplexResult {
  const n = f.n;
  const fn = new CountedFunction(f);
  const maxCalls = 200 + 100 * n + 5 * n * n;
  const minEdm = Math.max(tolerance * errordef, EPS2);
  const x = Float64Array.from(x0);
  const f0 = fn.value(x);
  const gstep = initialDerivatives(x, errors, errordef).gstep;
  const points: Float64Array[] = [Float64Array.from(x) as Float64Array];
  const values: number[] = [f0];
  let jl = 0;
  let jh = 0;
  let amin = f0;
  let aming = f0;
  for (let i = 0; i < n; i++) {
    const dmin = 8 * EPS2 * (Math.abs(x[i]) + EPS2);
    const step = Math.max(10 * gstep[i], dmin);
    x[i] += step;
    const v = fn.value(x);
    if (v < amin) {
      amin = v;
      jl = i + 1;
    }
    if (v > aming) {
      aming = v;
      jh = i + 1;
    }
    points.push(Float64Array.from(x));
    values.push(v);
    x[i] -= step;
  }
  const spread = () => values[jh] - values[jl];
  const update = (y: number, p: Float64Array) => {
    points[jh] = p;
    values[jh] = y;
    if (y < values[jl]) jl = jh;
    let h = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[h]) h = i;
    jh = h;
  };
  const combine = (a: number, pa: Float64Array, b: number, pb: Float64Array) => Float64Array.from({ length: n }, (_, k) => a * pa[k] + b * pb[k]);
  const centroid = () => {
    const c = new Float64Array(n);
    for (let i = 0; i <= n; i++) if (i !== jh) for (let k = 0; k < n; k++) c[k] += points[i][k] / n;
    return c;
  };
  let edmBefore: number;
  do {
    amin = values[jl];
    edmBefore = spread();
    const pbar = centroid();
    const pstar = combine(2, pbar, -1, points[jh]);
    const ystar = fn.value(pstar);
    if (ystar > amin) {
      if (ystar < values[jh]) {
        const before = jh;
        update(ystar, pstar);
        if (before !== jh) continue;
      }
      const pstst = combine(0.5, points[jh], 0.5, pbar);
      const ystst = fn.value(pstst);
      if (ystst > values[jh]) break;
      update(ystst, pstst);
      continue;
    }
    const pstst = combine(2, pstar, -1, pbar);
    const ystst = fn.value(pstst);
    const y1 = (ystar - values[jh]) * 3;
    const y2 = (ystst - values[jh]) * 2;
    let rho = (0.5 * (3 * y1 - 2 * y2)) / (y1 - y2);
    if (rho < 4) {
      if (ystst < values[jl]) update(ystst, pstst);
      else update(ystar, pstar);
      continue;
    }
    if (rho > 8) rho = 8;
    const prho = combine(rho, pbar, 1 - rho, points[jh]);
    const yrho = fn.value(prho);
    if (yrho < values[jl] && yrho < ystst) {
      update(yrho, prho);
      continue;
    }
    if (ystst < values[jl]) {
      update(ystst, pstst);
      continue;
    }
    if (yrho > values[jl]) {
      if (ystst < values[jl]) update(ystst, pstst);
      else update(ystar, pstar);
      continue;
    }
    if (ystar > values[jh]) {
      const pc = combine(0.5, points[jh], 0.5, pbar);
      const yc = fn.value(pc);
      if (yc > values[jh]) break;
      update(yc, pc);
    }
  } while ((spread() > minEdm || edmBefore > minEdm) && fn.calls < maxCalls);
  let pbar: Float64Array = centroid();
  let ybar = fn.value(pbar);
  if (ybar < values[jl]) update(ybar, pbar);
  else {
    pbar = points[jl];
    ybar = values[jl];
  }
  const scale = Math.sqrt(errordef / spread());
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let lo = points[0][k];
    let hi = lo;
    for (const p of points) {
      if (p[k] < lo) lo = p[k];
      if (p[k] > hi) hi = p[k];
    }
    out[k] = (hi - lo) * scale;
  }
  const valid = fn.calls <= maxCalls && !(spread() > minEdm);
  return { x: Float64Array.from(pbar), fval: ybar, errors: out, valid, calls: fn.calls };
}

export interface IminuitFitResult {
  readonly x: Float64Array;
  readonly fval: number;
  readonly valid: boolean;
  readonly reason: string;
  readonly calls: number;
}

/**
 * What the light-curve package does with iminuit (strategy 0, tol 0.1): up to ten rounds of migrad() and,
 * when it converged, hesse(), else simplex(); stop when migrad and hesse are both valid. iminuit's migrad()
 * itself calls MIGRAD up to five times until valid, each from the last state and its covariance; its
 * hesse() marks the minimum invalid when the EDM recomputed with the accurate Hessian exceeds
 * 10 x 0.002 x tol x errordef.
 */
export function iminuitFit(f: MigradFunction, x0: ArrayLike<number>, options: MigradOptions): IminuitFitResult {
  const n = f.n;
  const up = options.errordef;
  const edmGoal = Math.max(options.tolerance * up, EPS2) * 0.002;
  let x: Float64Array = Float64Array.from(x0);
  let errors: Float64Array = Float64Array.from(options.errors);
  let covariance: Float64Array | undefined;
  let fval = NaN;
  let calls = 0;
  for (let round = 0; round < 10; round++) {
    let m: MigradResult | null = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      m = migrad(f, x, { ...options, errors, ...(covariance ? { covariance } : {}) });
      calls += m.calls;
      x = m.x;
      fval = m.fval;
      covariance = m.V;
      errors = errorsFromCovariance(m.V, n, up);
      if (m.valid || m.callLimit) break;
    }
    if (!m || !m.valid) {
      // light-curve's loop: an invalid migrad() is followed by simplex(), then migrad() again
      const sx = simplex(f, x, errors, up, options.tolerance);
      calls += sx.calls;
      x = sx.x;
      fval = sx.fval;
      errors = sx.errors;
      covariance = undefined;
      continue;
    }
    const h = hesse(f, x, fval, m.g, errors, up);
    calls += h.calls;
    covariance = h.V;
    errors = errorsFromCovariance(h.V, n, up);
    if (h.status !== 'failed' && !(h.edm > 10 * edmGoal)) return { x, fval, valid: true, reason: `round ${round + 1}`, calls };
  }
  return { x, fval, valid: false, reason: 'not valid after ten rounds of migrad and hesse', calls };
}
