/**
 * ManipulationWorld: the arm, its two-finger gripper, the table and a task's props (a cube, or a door
 * on a hinge) in one Rapier world stepped at 200 Hz, 8 physics steps per 25 Hz control step.
 *
 * How the arm meets Rapier. The JS bindings of Rapier (0.20 SIMD and 0.21 plain, the builds installed)
 * create multibody joints but expose neither their motors nor their revolute limits nor their joint
 * coordinates, so a motorised multibody arm cannot be driven from JS. The arm is therefore simulated in
 * reduced coordinates here (`servoJoints`: position motors with torque limits, damping, speed and joint
 * limits, integrated inside every physics step) and the hand is a kinematic Rapier body that follows
 * the chain's forward kinematics each physics step, so it pushes the props with unlimited force (a stiff
 * position-controlled arm, as Fetch's mocap-driven gripper). The fingers are dynamic bodies on
 * prismatic impulse joints with force-limited position motors, so grasps hold by friction under a
 * bounded squeeze; the door is a dynamic panel on a revolute impulse joint with limits and a velocity
 * motor as hinge friction. Only the hand and the fingers collide: the upper links are drawn but are
 * not colliders (with the hand pointing down they stay above the props in these workspaces; the
 * forearm could graze the top of the door at the far edge of reach, which is not modelled). The arm's
 * reaction to contacts is not modelled either: a stiff position-controlled arm, as the mocap-driven Fetch.
 */
import type * as RapierTypes from '@dimforge/rapier3d-compat';
import { ArmKinematics, ARM, DlsIk, HAND_DOWN, matToQuat, NUM_ARM_JOINTS, servoJoints } from './arm';
import type { Rapier } from '../carball/rapier';

export const TABLE = {
  /** Height of the table top (m). */
  topZ: 0.4,
  center: [0.55, 0, 0.2] as const,
  halfExtents: [0.45, 0.6, 0.2] as const,
} as const;

export const GRIPPER = {
  palmHalf: [0.03, 0.065, 0.02] as const,
  /** The palm's centre along the hand's z axis (m from the last joint). */
  palmZ: 0.1,
  fingerHalf: [0.012, 0.006, 0.03] as const,
  /** Each finger's travel from closed (inner faces touching) to open (m). */
  maxOpening: 0.045,
  fingerMassKg: 0.05,
  /** Finger motors: stiffness (N/m), damping (N·s/m), force limit (N). */
  stiffness: 2000,
  damping: 60,
  maxForce: 20,
  friction: 1.5,
} as const;

export const CUBE = { halfSize: 0.025, massKg: 0.1, friction: 1.0 } as const;

export const DOOR = {
  /** The door's plane when closed (x), its hinge edge (y), bottom and height (m). */
  planeX: 0.55,
  hingeY: 0.15,
  width: 0.3,
  halfThickness: 0.01,
  bottomZ: TABLE.topZ + 0.02,
  height: 0.3,
  massKg: 1.0,
  maxAngle: 1.5,
  /** Hinge friction as a velocity motor towards 0 (N·m·s). */
  hingeDamping: 0.05,
  /** The handle: a block on the robot's side, near the free edge, half-way up. */
  handleHalf: [0.02, 0.015, 0.04] as const,
  handleFromHinge: 0.26,
} as const;

export const PHYSICS_DT = 1 / 200;
export const SUBSTEPS = 8;
/** Seconds per control step: 8 × 5 ms = 40 ms (25 Hz, Fetch's 20 × 2 ms). */
export const CONTROL_DT = PHYSICS_DT * SUBSTEPS;

/** Bounds of the grip point's commanded position: above the table (fingertips clear of it) and within reach. */
export const WORKSPACE = {
  low: [0.25, -0.4, TABLE.topZ + GRIPPER.fingerHalf[2] + 0.004] as const,
  high: [0.8, 0.4, 0.85] as const,
} as const;

export type Prop = 'none' | 'cube' | 'door';

/** Collision groups (membership << 16 | filter): the fingers touch everything but each other (closed, their faces meet). */
const FINGER_GROUPS = (0x0002 << 16) | 0xfffd;

export class ManipulationWorld {
  readonly q = new Float64Array(NUM_ARM_JOINTS);
  readonly qd = new Float64Array(NUM_ARM_JOINTS);
  /** Joint targets the servo tracks (set by IK). */
  readonly qTarget = new Float64Array(NUM_ARM_JOINTS);
  readonly kin = new ArmKinematics();
  readonly ik = new DlsIk();
  /** Finger openings (m from closed, each finger) and their rates, refreshed after each step. */
  readonly finger = new Float64Array(2);
  readonly fingerVel = new Float64Array(2);
  /** The cube's position, orientation (x, y, z, w), linear and angular velocity. */
  readonly cubePos = new Float64Array(3);
  readonly cubeQuat = new Float64Array(4);
  readonly cubeVel = new Float64Array(3);
  readonly cubeAngVel = new Float64Array(3);
  doorAngle = 0;
  doorAngVel = 0;
  /** Grip point velocity (m/s), from the last control step's displacement. */
  readonly gripVel = new Float64Array(3);
  /** The commanded finger opening (m). */
  fingerTarget = 0;

  private world: RapierTypes.World | null = null;
  private hand!: RapierTypes.RigidBody;
  private fingers: RapierTypes.RigidBody[] = [];
  private fingerJoints: RapierTypes.UnitImpulseJoint[] = [];
  private cube: RapierTypes.RigidBody | null = null;
  private door: RapierTypes.RigidBody | null = null;
  private readonly quat = new Float64Array(4);
  private readonly v = { x: 0, y: 0, z: 0 };
  private readonly r = { x: 0, y: 0, z: 0, w: 1 };
  private readonly prevGrip = new Float64Array(3);

  constructor(
    readonly R: Rapier,
    readonly prop: Prop,
  ) {}

  /**
   * Builds a fresh world (so the same reset and actions always replay the same trajectory, with no
   * contact cache carried over) with the arm at `q0`, the fingers at `opening`, and the cube at `cubeAt`.
   */
  build(q0: ArrayLike<number>, opening: number, cubeAt?: ArrayLike<number>): void {
    this.free();
    const R = this.R;
    const world = new R.World({ x: 0, y: 0, z: -9.81 });
    world.timestep = PHYSICS_DT;
    this.world = world;
    this.q.set(q0);
    this.qTarget.set(q0);
    this.qd.fill(0);
    this.kin.compute(this.q);
    this.prevGrip.set(this.kin.gripPos);
    this.gripVel.fill(0);

    const table = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(...TABLE.center));
    world.createCollider(R.ColliderDesc.cuboid(...TABLE.halfExtents).setFriction(1.0), table);

    matToQuat(this.kin.handRot, this.quat);
    const rot = { x: this.quat[0]!, y: this.quat[1]!, z: this.quat[2]!, w: this.quat[3]! };
    const hp = this.kin.handPos;
    this.hand = world.createRigidBody(R.RigidBodyDesc.kinematicPositionBased().setTranslation(hp[0]!, hp[1]!, hp[2]!).setRotation(rot));
    world.createCollider(R.ColliderDesc.cuboid(...GRIPPER.palmHalf).setTranslation(0, 0, GRIPPER.palmZ), this.hand);

    this.fingers = [];
    this.fingerJoints = [];
    const fingerVolume = 8 * GRIPPER.fingerHalf[0] * GRIPPER.fingerHalf[1] * GRIPPER.fingerHalf[2];
    for (const side of [1, -1]) {
      // Finger centre in the hand frame: (0, side·(fingerHalf_y + opening), gripOffset).
      const y = side * (GRIPPER.fingerHalf[1] + opening);
      const R3 = this.kin.handRot;
      const fx = hp[0]! + R3[1]! * y + R3[2]! * ARM.gripOffset;
      const fy = hp[1]! + R3[4]! * y + R3[5]! * ARM.gripOffset;
      const fz = hp[2]! + R3[7]! * y + R3[8]! * ARM.gripOffset;
      const body = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(fx, fy, fz).setRotation(rot).setCanSleep(false));
      world.createCollider(
        R.ColliderDesc.cuboid(...GRIPPER.fingerHalf)
          .setDensity(GRIPPER.fingerMassKg / fingerVolume)
          .setFriction(GRIPPER.friction)
          .setCollisionGroups(FINGER_GROUPS),
        body,
      );
      const params = R.JointData.prismatic({ x: 0, y: side * GRIPPER.fingerHalf[1], z: ARM.gripOffset }, { x: 0, y: 0, z: 0 }, { x: 0, y: side, z: 0 });
      params.limitsEnabled = true;
      params.limits = [0, GRIPPER.maxOpening];
      const joint = world.createImpulseJoint(params, this.hand, body, true) as RapierTypes.UnitImpulseJoint;
      joint.setContactsEnabled(false);
      joint.setLimits(0, GRIPPER.maxOpening);
      joint.configureMotorModel(R.MotorModel.ForceBased);
      joint.setMotorMaxForce(GRIPPER.maxForce);
      joint.configureMotorPosition(opening, GRIPPER.stiffness, GRIPPER.damping);
      this.fingers.push(body);
      this.fingerJoints.push(joint);
    }
    this.fingerTarget = opening;

    this.cube = null;
    this.door = null;
    if (this.prop === 'cube') {
      const at = cubeAt ?? [0.55, 0, TABLE.topZ + CUBE.halfSize];
      this.cube = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(at[0]!, at[1]!, at[2]!));
      world.createCollider(
        R.ColliderDesc.cuboid(CUBE.halfSize, CUBE.halfSize, CUBE.halfSize)
          .setDensity(CUBE.massKg / (2 * CUBE.halfSize) ** 3)
          .setFriction(CUBE.friction),
        this.cube,
      );
    } else if (this.prop === 'door') {
      const hingeZ = DOOR.bottomZ + DOOR.height / 2;
      const frame = world.createRigidBody(R.RigidBodyDesc.fixed().setTranslation(DOOR.planeX, DOOR.hingeY, hingeZ));
      // A post the door hangs on (beyond the hinge, clear of the swinging panel).
      world.createCollider(R.ColliderDesc.cuboid(0.015, 0.015, DOOR.height / 2).setTranslation(0, 0.03, 0), frame);
      // The door body's origin is the hinge; the panel extends along −y from it.
      this.door = world.createRigidBody(R.RigidBodyDesc.dynamic().setTranslation(DOOR.planeX, DOOR.hingeY, hingeZ).setCanSleep(false));
      const panelVolume = 8 * DOOR.halfThickness * (DOOR.width / 2) * (DOOR.height / 2);
      world.createCollider(
        R.ColliderDesc.cuboid(DOOR.halfThickness, DOOR.width / 2 - 0.005, DOOR.height / 2)
          .setTranslation(0, -DOOR.width / 2, 0)
          .setDensity(DOOR.massKg / panelVolume),
        this.door,
      );
      const hh = DOOR.handleHalf;
      world.createCollider(R.ColliderDesc.cuboid(...hh).setTranslation(-DOOR.halfThickness - hh[0], -DOOR.handleFromHinge, 0).setDensity(100), this.door);
      const params = R.JointData.revolute({ x: 0, y: 0, z: 0 }, { x: 0, y: 0, z: 0 }, { x: 0, y: 0, z: 1 });
      params.limitsEnabled = true;
      params.limits = [0, DOOR.maxAngle];
      const hinge = world.createImpulseJoint(params, frame, this.door, true) as RapierTypes.UnitImpulseJoint;
      hinge.setContactsEnabled(false);
      hinge.setLimits(0, DOOR.maxAngle);
      hinge.configureMotorModel(R.MotorModel.ForceBased);
      hinge.configureMotorVelocity(0, DOOR.hingeDamping);
    }
    this.readState();
  }

  /**
   * One control step: move the grip target by `delta` (m, clamped to the workspace), solve IK from the
   * current joint targets, command the fingers to `opening` (m; null keeps them), and run the substeps.
   */
  control(delta: ArrayLike<number>, opening: number | null): void {
    const g = this.kin.gripPos;
    // Fetch's convention: the new target is the gripper's current position plus the action's displacement.
    const t0 = clamp(g[0]! + delta[0]!, WORKSPACE.low[0], WORKSPACE.high[0]);
    const t1 = clamp(g[1]! + delta[1]!, WORKSPACE.low[1], WORKSPACE.high[1]);
    const t2 = clamp(g[2]! + delta[2]!, WORKSPACE.low[2], WORKSPACE.high[2]);
    this.target[0] = t0;
    this.target[1] = t1;
    this.target[2] = t2;
    this.ik.solve(this.qTarget, this.target, HAND_DOWN);
    if (opening !== null && opening !== this.fingerTarget) {
      this.fingerTarget = opening;
      for (const j of this.fingerJoints) j.configureMotorPosition(opening, GRIPPER.stiffness, GRIPPER.damping);
    }
    this.prevGrip.set(g);
    for (let s = 0; s < SUBSTEPS; s++) this.physicsStep();
    this.readState();
  }

  private readonly target = new Float64Array(3);

  /** Servo the joints over one physics step, move the hand there, step Rapier. */
  private physicsStep(): void {
    servoJoints(this.q, this.qd, this.qTarget, PHYSICS_DT);
    this.kin.compute(this.q);
    const hp = this.kin.handPos;
    matToQuat(this.kin.handRot, this.quat);
    this.v.x = hp[0]!;
    this.v.y = hp[1]!;
    this.v.z = hp[2]!;
    this.r.x = this.quat[0]!;
    this.r.y = this.quat[1]!;
    this.r.z = this.quat[2]!;
    this.r.w = this.quat[3]!;
    this.hand.setNextKinematicTranslation(this.v);
    this.hand.setNextKinematicRotation(this.r);
    this.world!.step();
  }

  private readState(): void {
    const g = this.kin.gripPos;
    for (let i = 0; i < 3; i++) this.gripVel[i] = (g[i]! - this.prevGrip[i]!) / CONTROL_DT;
    const hp = this.kin.handPos;
    const Rm = this.kin.handRot;
    for (let f = 0; f < 2; f++) {
      const body = this.fingers[f]!;
      const p = body.translation();
      const v = body.linvel();
      const side = f === 0 ? 1 : -1;
      // Opening: the finger's offset along the hand's y axis, less its half thickness.
      const along = (p.x - hp[0]!) * Rm[1]! + (p.y - hp[1]!) * Rm[4]! + (p.z - hp[2]!) * Rm[7]!;
      this.finger[f] = side * along - GRIPPER.fingerHalf[1];
      const hv = this.hand.linvel();
      this.fingerVel[f] = side * ((v.x - hv.x) * Rm[1]! + (v.y - hv.y) * Rm[4]! + (v.z - hv.z) * Rm[7]!);
    }
    if (this.cube) {
      const p = this.cube.translation();
      const r = this.cube.rotation();
      const v = this.cube.linvel();
      const w = this.cube.angvel();
      this.cubePos[0] = p.x;
      this.cubePos[1] = p.y;
      this.cubePos[2] = p.z;
      this.cubeQuat[0] = r.x;
      this.cubeQuat[1] = r.y;
      this.cubeQuat[2] = r.z;
      this.cubeQuat[3] = r.w;
      this.cubeVel[0] = v.x;
      this.cubeVel[1] = v.y;
      this.cubeVel[2] = v.z;
      this.cubeAngVel[0] = w.x;
      this.cubeAngVel[1] = w.y;
      this.cubeAngVel[2] = w.z;
    }
    if (this.door) {
      const r = this.door.rotation();
      // The hinge is the only freedom, about z: θ = 2·atan2(q_z, q_w).
      this.doorAngle = 2 * Math.atan2(r.z, r.w);
      this.doorAngVel = this.door.angvel().z;
    }
  }

  /** The door handle's centre in the world (m). */
  handlePosition(out: Float64Array = new Float64Array(3)): Float64Array {
    const th = this.doorAngle;
    const lx = -DOOR.halfThickness - DOOR.handleHalf[0];
    const ly = -DOOR.handleFromHinge;
    out[0] = DOOR.planeX + Math.cos(th) * lx - Math.sin(th) * ly;
    out[1] = DOOR.hingeY + Math.sin(th) * lx + Math.cos(th) * ly;
    out[2] = DOOR.bottomZ + DOOR.height / 2;
    return out;
  }

  /** World pose of finger f (0: +y side) as position + quaternion, for replays. */
  fingerPose(f: number, out: Float64Array | number[], offset = 0): void {
    const b = this.fingers[f]!;
    const p = b.translation();
    const r = b.rotation();
    out[offset] = p.x;
    out[offset + 1] = p.y;
    out[offset + 2] = p.z;
    out[offset + 3] = r.x;
    out[offset + 4] = r.y;
    out[offset + 5] = r.z;
    out[offset + 6] = r.w;
  }

  /** Applies a world-frame impulse at a point of the door (tests, scripted openings). */
  pushDoor(impulse: ArrayLike<number>, at: ArrayLike<number>): void {
    this.door?.applyImpulseAtPoint({ x: impulse[0]!, y: impulse[1]!, z: impulse[2]! }, { x: at[0]!, y: at[1]!, z: at[2]! }, true);
  }

  /** Whether `build` (or `setSnapshot`) has made a world to step. */
  get built(): boolean {
    return this.world !== null;
  }

  /** The complete dynamic state: Rapier's world snapshot (base64) plus the arm's and the gripper's state. */
  getSnapshot(): ManipulationWorldSnapshot | null {
    if (!this.world) return null;
    return {
      prop: this.prop,
      rapier: Buffer.from(this.world.takeSnapshot()).toString('base64'),
      hand: this.hand.handle,
      fingers: this.fingers.map((b) => b.handle),
      fingerJoints: this.fingerJoints.map((j) => j.handle),
      cube: this.cube?.handle ?? null,
      door: this.door?.handle ?? null,
      arrays: { q: Array.from(this.q), qd: Array.from(this.qd), qTarget: Array.from(this.qTarget), prevGrip: Array.from(this.prevGrip), gripVel: Array.from(this.gripVel) },
      fingerTarget: this.fingerTarget,
    };
  }

  setSnapshot(s: ManipulationWorldSnapshot | null): void {
    if (s === null) {
      this.free();
      return;
    }
    if (s.prop !== this.prop) throw new Error(`manipulation snapshot: it holds a '${s.prop}' world, this env has a '${this.prop}' world`);
    const world = this.R.World.restoreSnapshot(new Uint8Array(Buffer.from(s.rapier, 'base64')));
    this.free();
    this.world = world;
    this.hand = world.getRigidBody(s.hand);
    this.fingers = s.fingers.map((h) => world.getRigidBody(h));
    this.fingerJoints = s.fingerJoints.map((h) => world.getImpulseJoint(h) as RapierTypes.UnitImpulseJoint);
    this.cube = s.cube === null ? null : world.getRigidBody(s.cube);
    this.door = s.door === null ? null : world.getRigidBody(s.door);
    this.q.set(s.arrays.q);
    this.qd.set(s.arrays.qd);
    this.qTarget.set(s.arrays.qTarget);
    this.fingerTarget = s.fingerTarget;
    this.kin.compute(this.q);
    this.prevGrip.set(s.arrays.prevGrip);
    this.readState();
    this.gripVel.set(s.arrays.gripVel);
  }

  free(): void {
    this.world?.free();
    this.world = null;
  }
}

export interface ManipulationWorldSnapshot {
  prop: Prop;
  rapier: string;
  hand: number;
  fingers: number[];
  fingerJoints: number[];
  cube: number | null;
  door: number | null;
  arrays: { q: number[]; qd: number[]; qTarget: number[]; prevGrip: number[]; gripVel: number[] };
  fingerTarget: number;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
