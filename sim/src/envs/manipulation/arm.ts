/**
 * The arm: a 7-DoF serial chain (yaw–pitch–roll shoulder, pitch elbow, roll–pitch–roll wrist, the
 * layout of the Franka and KUKA arms) mounted beside the table, with its forward kinematics, Jacobian,
 * damped-least-squares inverse kinematics and a torque-limited joint servo. All in metres, radians and
 * SI units, world frame z up. Browser-safe (no Rapier): the scene builder uses the same kinematics.
 */

/** Joint axes in the parent link's frame: 2 = z (roll / yaw), 1 = y (pitch). */
const JOINT_AXIS = [2, 1, 2, 1, 2, 1, 2] as const;
/** Offset of each joint from the previous one along the parent link's z axis (m). */
const JOINT_OFFSET_Z = [0, 0.33, 0, 0.4, 0, 0.4, 0] as const;

export const NUM_ARM_JOINTS = 7;

export const ARM = {
  /** The base (first joint) sits on a pedestal level with the table top. */
  basePosition: [0, 0, 0.4] as const,
  /** Distance from the last joint to the grip point (between the fingers' centres) along the hand's z axis. */
  gripOffset: 0.18,
  /** Upper arm and forearm lengths (m). */
  upperArm: 0.4,
  forearm: 0.4,
  /** Joint limits (rad). */
  lower: Float64Array.of(-2.9, -1.8, -2.9, 0.05, -2.9, -1.0, -2.9),
  upper: Float64Array.of(2.9, 1.8, 2.9, 2.8, 2.9, 3.0, 2.9),
  /** Motor torque limits (N·m) and the inertia each joint drives (kg·m², a fixed stand-in for the configuration-dependent one). */
  maxTorque: Float64Array.of(87, 87, 87, 87, 12, 12, 12),
  inertia: Float64Array.of(1.0, 1.5, 0.5, 0.8, 0.1, 0.1, 0.05),
  /** Joint speed limit (rad/s). */
  maxSpeed: 3.0,
  /** Position-servo natural frequency (rad/s); critically damped (damping 2ω). */
  servoOmega: 80,
  /** Servo integration steps per physics step (the servo is stiff; its integration is cheap). */
  servoSubsteps: 4,
} as const;

/** Where the chain is: world positions and axes of every joint, the hand frame and the grip point. */
export class ArmKinematics {
  /** Joint i's world position at 3i. */
  readonly jointPos = new Float64Array(3 * NUM_ARM_JOINTS);
  /** Joint i's world axis at 3i. */
  readonly jointAxis = new Float64Array(3 * NUM_ARM_JOINTS);
  /** Orientation of every link (row-major 3×3 at 9i): link i is the body after joint i. */
  readonly linkRot = new Float64Array(9 * NUM_ARM_JOINTS);
  /** The hand frame: rotation (row-major 3×3) of the last link; its origin is the last joint. */
  readonly handRot = new Float64Array(9);
  readonly handPos = new Float64Array(3);
  readonly gripPos = new Float64Array(3);

  /** Forward kinematics for joint angles `q`. */
  compute(q: ArrayLike<number>): void {
    const R = this.handRot;
    R.fill(0);
    R[0] = R[4] = R[8] = 1;
    let px = ARM.basePosition[0];
    let py = ARM.basePosition[1];
    let pz = ARM.basePosition[2];
    for (let i = 0; i < NUM_ARM_JOINTS; i++) {
      const d = JOINT_OFFSET_Z[i]!;
      px += R[2]! * d;
      py += R[5]! * d;
      pz += R[8]! * d;
      const a = JOINT_AXIS[i]!;
      this.jointPos[3 * i] = px;
      this.jointPos[3 * i + 1] = py;
      this.jointPos[3 * i + 2] = pz;
      this.jointAxis[3 * i] = R[a]!;
      this.jointAxis[3 * i + 1] = R[3 + a]!;
      this.jointAxis[3 * i + 2] = R[6 + a]!;
      const c = Math.cos(q[i]!);
      const s = Math.sin(q[i]!);
      // R ← R · Rot(axis, q): only two columns change.
      if (a === 2) {
        for (let r = 0; r < 3; r++) {
          const x = R[3 * r]!;
          const y = R[3 * r + 1]!;
          R[3 * r] = c * x + s * y;
          R[3 * r + 1] = -s * x + c * y;
        }
      } else {
        for (let r = 0; r < 3; r++) {
          const x = R[3 * r]!;
          const z = R[3 * r + 2]!;
          R[3 * r] = c * x - s * z;
          R[3 * r + 2] = s * x + c * z;
        }
      }
      this.linkRot.set(R, 9 * i);
    }
    this.handPos[0] = px;
    this.handPos[1] = py;
    this.handPos[2] = pz;
    const g = ARM.gripOffset;
    this.gripPos[0] = px + R[2]! * g;
    this.gripPos[1] = py + R[5]! * g;
    this.gripPos[2] = pz + R[8]! * g;
  }
}

/**
 * The hand orientation every task holds (Fetch keeps its gripper's orientation fixed): the hand's z axis
 * points down and its fingers open along the world y axis, i.e. a half turn about y.
 */
export const HAND_DOWN: Float64Array = Float64Array.of(-1, 0, 0, 0, 1, 0, 0, 0, -1);

/** Quaternion (x, y, z, w) of a row-major rotation matrix. */
export function matToQuat(m: ArrayLike<number>, out: Float64Array | number[] = new Float64Array(4), offset = 0): Float64Array | number[] {
  const m00 = m[0]!, m01 = m[1]!, m02 = m[2]!, m10 = m[3]!, m11 = m[4]!, m12 = m[5]!, m20 = m[6]!, m21 = m[7]!, m22 = m[8]!;
  const tr = m00 + m11 + m22;
  let x: number, y: number, z: number, w: number;
  if (tr > 0) {
    const s = Math.sqrt(tr + 1) * 2;
    w = 0.25 * s;
    x = (m21 - m12) / s;
    y = (m02 - m20) / s;
    z = (m10 - m01) / s;
  } else if (m00 > m11 && m00 > m22) {
    const s = Math.sqrt(1 + m00 - m11 - m22) * 2;
    w = (m21 - m12) / s;
    x = 0.25 * s;
    y = (m01 + m10) / s;
    z = (m02 + m20) / s;
  } else if (m11 > m22) {
    const s = Math.sqrt(1 + m11 - m00 - m22) * 2;
    w = (m02 - m20) / s;
    x = (m01 + m10) / s;
    y = 0.25 * s;
    z = (m12 + m21) / s;
  } else {
    const s = Math.sqrt(1 + m22 - m00 - m11) * 2;
    w = (m10 - m01) / s;
    x = (m02 + m20) / s;
    y = (m12 + m21) / s;
    z = 0.25 * s;
  }
  out[offset] = x;
  out[offset + 1] = y;
  out[offset + 2] = z;
  out[offset + 3] = w;
  return out;
}

/** Solves the symmetric positive-definite system A x = b in place (Cholesky); A is n×n row-major, destroyed. */
function solveSpd(A: Float64Array, b: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]!;
    for (let k = 0; k < j; k++) d -= A[j * n + k]! ** 2;
    const ljj = Math.sqrt(d);
    A[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= A[i * n + k]! * A[j * n + k]!;
      A[i * n + j] = s / ljj;
    }
  }
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= A[i * n + k]! * b[k]!;
    b[i] = s / A[i * n + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= A[k * n + i]! * b[k]!;
    b[i] = s / A[i * n + i]!;
  }
}

export interface IkSettings {
  /** Damping λ of the least-squares step (Wampler 1986; Buss 2004 §5): Δq = Jᵀ(JJᵀ + λ²I)⁻¹e. */
  lambda: number;
  /** Weight of the orientation error (m per rad) against the position error. */
  rotationWeight: number;
  /** Largest position error one iteration acts on (m), so far targets do not flip the arm. */
  maxStep: number;
  iterations: number;
}

export const DEFAULT_IK: IkSettings = { lambda: 0.05, rotationWeight: 0.3, maxStep: 0.05, iterations: 4 };

/**
 * Damped-least-squares IK for the grip point's position and the hand's orientation (6 task dimensions,
 * 7 joints). Updates `q` in place towards the target, clamped to the joint limits, and returns the
 * remaining position error (m). Allocation-free.
 */
export class DlsIk {
  private readonly kin = new ArmKinematics();
  private readonly J = new Float64Array(6 * NUM_ARM_JOINTS);
  private readonly A = new Float64Array(36);
  private readonly e = new Float64Array(6);

  constructor(readonly settings: IkSettings = DEFAULT_IK) {}

  solve(q: Float64Array, target: ArrayLike<number>, targetRot: ArrayLike<number> = HAND_DOWN, iterations = this.settings.iterations): number {
    const { lambda, rotationWeight: w, maxStep } = this.settings;
    const { kin, J, A, e } = this;
    let err = 0;
    for (let it = 0; it <= iterations; it++) {
      kin.compute(q);
      const g = kin.gripPos;
      let ex = target[0]! - g[0]!;
      let ey = target[1]! - g[1]!;
      let ez = target[2]! - g[2]!;
      err = Math.hypot(ex, ey, ez);
      if (it === iterations) break;
      if (err > maxStep) {
        const k = maxStep / err;
        ex *= k;
        ey *= k;
        ez *= k;
      }
      e[0] = ex;
      e[1] = ey;
      e[2] = ez;
      // Orientation error ½ Σ_k r_k × r_k* over the columns of the current and target rotations.
      const R = kin.handRot;
      e[3] = e[4] = e[5] = 0;
      for (let c = 0; c < 3; c++) {
        const ax = R[c]!, ay = R[3 + c]!, az = R[6 + c]!;
        const bx = targetRot[c]!, by = targetRot[3 + c]!, bz = targetRot[6 + c]!;
        e[3] += 0.5 * w * (ay * bz - az * by);
        e[4] += 0.5 * w * (az * bx - ax * bz);
        e[5] += 0.5 * w * (ax * by - ay * bx);
      }
      // Jacobian columns: ω_i × (p_grip − p_i) for the position rows, w·ω_i for the orientation rows.
      for (let i = 0; i < NUM_ARM_JOINTS; i++) {
        const axx = kin.jointAxis[3 * i]!, axy = kin.jointAxis[3 * i + 1]!, axz = kin.jointAxis[3 * i + 2]!;
        const rx = g[0]! - kin.jointPos[3 * i]!, ry = g[1]! - kin.jointPos[3 * i + 1]!, rz = g[2]! - kin.jointPos[3 * i + 2]!;
        J[i] = axy * rz - axz * ry;
        J[7 + i] = axz * rx - axx * rz;
        J[14 + i] = axx * ry - axy * rx;
        J[21 + i] = w * axx;
        J[28 + i] = w * axy;
        J[35 + i] = w * axz;
      }
      for (let r = 0; r < 6; r++) {
        for (let c = r; c < 6; c++) {
          let s = 0;
          for (let k = 0; k < NUM_ARM_JOINTS; k++) s += J[r * 7 + k]! * J[c * 7 + k]!;
          A[r * 6 + c] = s;
          A[c * 6 + r] = s;
        }
        A[r * 6 + r] += lambda * lambda;
      }
      solveSpd(A, e, 6);
      for (let k = 0; k < NUM_ARM_JOINTS; k++) {
        let dq = 0;
        for (let r = 0; r < 6; r++) dq += J[r * 7 + k]! * e[r]!;
        q[k] = Math.min(Math.max(q[k]! + dq, ARM.lower[k]!), ARM.upper[k]!);
      }
    }
    return err;
  }
}

/**
 * The joints' motors: each joint is a position servo (stiffness ω², damping 2ω per unit inertia,
 * torque clamped to its limit), its speed clamped to `maxSpeed`, its angle held inside its limits
 * (a joint at a limit stops). Integrated semi-implicitly at `servoSubsteps` per physics step.
 */
export function servoJoints(q: Float64Array, qd: Float64Array, target: ArrayLike<number>, dt: number): void {
  const w = ARM.servoOmega;
  const kp = w * w;
  const kd = 2 * w;
  const n = ARM.servoSubsteps;
  const h = dt / n;
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < NUM_ARM_JOINTS; i++) {
      const maxAcc = ARM.maxTorque[i]! / ARM.inertia[i]!;
      let acc = kp * (target[i]! - q[i]!) - kd * qd[i]!;
      if (acc > maxAcc) acc = maxAcc;
      else if (acc < -maxAcc) acc = -maxAcc;
      let v = qd[i]! + acc * h;
      if (v > ARM.maxSpeed) v = ARM.maxSpeed;
      else if (v < -ARM.maxSpeed) v = -ARM.maxSpeed;
      let x = q[i]! + v * h;
      if (x <= ARM.lower[i]!) {
        x = ARM.lower[i]!;
        if (v < 0) v = 0;
      } else if (x >= ARM.upper[i]!) {
        x = ARM.upper[i]!;
        if (v > 0) v = 0;
      }
      q[i] = x;
      qd[i] = v;
    }
  }
}

/** A posture with the elbow up and the hand pointing down, from which IK finds the home postures. */
export const SEED_POSTURE = Float64Array.of(0, 0.6, 0, 1.6, 0, 0.95, 0);

/** Joint angles that put the grip point at `grip` with the hand pointing down (IK from the seed posture). */
export function homePosture(grip: ArrayLike<number>): Float64Array {
  const q = Float64Array.from(SEED_POSTURE);
  new DlsIk({ ...DEFAULT_IK, lambda: 0.02 }).solve(q, grip, HAND_DOWN, 200);
  return q;
}
