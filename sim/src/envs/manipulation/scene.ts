/**
 * Replay scenes for the manipulation envs (RLRP scene descriptions, metres, z up): the table and the
 * arm's pedestal as static bodies; the arm's links, the palm, the fingers, the task's prop and the goal
 * marker as dynamic bodies whose per-frame transforms come from the env's world.
 */
import { TRANSFORM_SIZE, writeTransform, type DynamicBody, type ReplayScene, type StaticBody } from '../../replay/format';
import type { ReplaySource } from '../../replay/scenes';
import { ARM, matToQuat } from './arm';
import type { ManipulationEnv } from './env';
import { CUBE, DOOR, GRIPPER, TABLE } from './world';

const ARM_COLOR = '#d0d7de';
const LINK_RADIUS = 0.045;
/** The drawn links: [index of the link frame (the body after that joint), half length along its z axis]. */
const LINKS: readonly [number, number][] = [
  [0, 0.165],
  [2, 0.2],
  [4, 0.2],
];
const WRIST_HALF = 0.04;

export function manipulationScene(env: ManipulationEnv): ReplayScene {
  const staticBodies: StaticBody[] = [
    { name: 'floor', shape: { kind: 'box', halfExtents: [1.5, 1.5, 0.005] }, color: '#9aa3ad', position: [0.4, 0, -0.005] },
    { name: 'table', shape: { kind: 'box', halfExtents: [...TABLE.halfExtents] }, color: '#8c6d46', position: [...TABLE.center] },
    { name: 'pedestal', shape: { kind: 'cylinder', radius: 0.08, halfLength: ARM.basePosition[2] / 2 }, color: '#57606a', position: [ARM.basePosition[0], ARM.basePosition[1], ARM.basePosition[2] / 2] },
  ];
  if (env.spec.prop === 'door') {
    // The frame: the hinge post, the latch post and the lintel, around the closed door's plane.
    const frameColor = '#57606a';
    const postHalf = DOOR.height / 2 + 0.015;
    staticBodies.push(
      { name: 'door-post', shape: { kind: 'box', halfExtents: [0.015, 0.015, postHalf] }, color: frameColor, position: [DOOR.planeX, DOOR.hingeY + 0.03, DOOR.bottomZ + postHalf - 0.015] },
      { name: 'door-post', shape: { kind: 'box', halfExtents: [0.015, 0.015, postHalf] }, color: frameColor, position: [DOOR.planeX, DOOR.hingeY - DOOR.width - 0.03, DOOR.bottomZ + postHalf - 0.015] },
      { name: 'door-lintel', shape: { kind: 'box', halfExtents: [0.015, DOOR.width / 2 + 0.045, 0.015] }, color: frameColor, position: [DOOR.planeX, DOOR.hingeY - DOOR.width / 2, DOOR.bottomZ + DOOR.height + 0.015] },
    );
  }
  const dynamicBodies: DynamicBody[] = [
    ...LINKS.map(([, half], i) => ({ name: `link-${i + 1}`, shape: { kind: 'capsule' as const, radius: LINK_RADIUS, halfLength: half }, color: ARM_COLOR, agent: 0 })),
    { name: 'wrist', shape: { kind: 'cylinder', radius: 0.035, halfLength: WRIST_HALF }, color: ARM_COLOR, agent: 0 },
    { name: 'palm', shape: { kind: 'box', halfExtents: [...GRIPPER.palmHalf] }, color: '#424a53', agent: 0 },
    { name: 'finger-left', shape: { kind: 'box', halfExtents: [...GRIPPER.fingerHalf] }, color: '#424a53', agent: 0 },
    { name: 'finger-right', shape: { kind: 'box', halfExtents: [...GRIPPER.fingerHalf] }, color: '#424a53', agent: 0 },
  ];
  if (env.spec.prop === 'cube') {
    dynamicBodies.push({ name: 'cube', shape: { kind: 'box', halfExtents: [CUBE.halfSize, CUBE.halfSize, CUBE.halfSize] }, color: '#cf222e' });
  } else if (env.spec.prop === 'door') {
    dynamicBodies.push({ name: 'door', shape: { kind: 'box', halfExtents: [DOOR.halfThickness, DOOR.width / 2 - 0.005, DOOR.height / 2] }, color: '#b08800' });
    dynamicBodies.push({ name: 'handle', shape: { kind: 'box', halfExtents: [...DOOR.handleHalf] }, color: '#24292f' });
  }
  if (env.spec.prop !== 'door') dynamicBodies.push({ name: 'goal', shape: { kind: 'sphere', radius: 0.02 }, color: '#2da44e', opacity: 0.5 });
  return {
    up: 'z',
    units: 'm',
    background: '#dfe6ee',
    camera: { target: [0.5, 0, 0.5], distance: 1.8 },
    cameras: {
      // The door's handle faces the arm: look over the arm's shoulder first.
      ...(env.spec.prop === 'door' ? { shoulder: { position: [-0.55, -0.95, 1.25] as [number, number, number], target: [0.45, 0, 0.55] as [number, number, number], fovDeg: 45, up: [0, 0, 1] as [number, number, number] } } : {}),
      // In front of the table, facing the arm (Fetch's default render looks at the robot from its front).
      front: { position: [2.0, 0.7, 1.3], target: [0.4, 0, 0.5], fovDeg: 45, up: [0, 0, 1] },
      side: { position: [0.5, -1.8, 0.95], target: [0.5, 0, 0.5], fovDeg: 45, up: [0, 0, 1] },
      top: { position: [0.55, 0, 2.1], target: [0.55, 0, 0.4], fovDeg: 45, up: [1, 0, 0] },
    },
    staticBodies,
    dynamicBodies,
    agents: ['arm'],
  };
}


/** One frame: the transforms of `manipulationScene(env)`'s dynamic bodies, in their order. */
export function manipulationTransforms(env: ManipulationEnv, out?: Float32Array): Float32Array {
  const w = env.world;
  const kin = w.kin;
  const count = 7 + (env.spec.prop === 'cube' ? 2 : env.spec.prop === 'door' ? 2 : 1);
  const frame = out ?? new Float32Array(count * TRANSFORM_SIZE);
  const q = new Float64Array(4);
  const pose = new Float64Array(7);
  let b = 0;
  for (const [link, half] of LINKS) {
    const R = kin.linkRot.subarray(9 * link, 9 * link + 9);
    matToQuat(R, q);
    const p = kin.jointPos;
    writeTransform(frame, b++, p[3 * link]! + R[2]! * half, p[3 * link + 1]! + R[5]! * half, p[3 * link + 2]! + R[8]! * half, q);
  }
  const H = kin.handRot;
  const hp = kin.handPos;
  matToQuat(H, q);
  writeTransform(frame, b++, hp[0]! + H[2]! * WRIST_HALF, hp[1]! + H[5]! * WRIST_HALF, hp[2]! + H[8]! * WRIST_HALF, q);
  writeTransform(frame, b++, hp[0]! + H[2]! * GRIPPER.palmZ, hp[1]! + H[5]! * GRIPPER.palmZ, hp[2]! + H[8]! * GRIPPER.palmZ, q);
  for (let f = 0; f < 2; f++) {
    w.fingerPose(f, pose);
    writeTransform(frame, b++, pose[0]!, pose[1]!, pose[2]!, pose.subarray(3));
  }
  if (env.spec.prop === 'cube') {
    writeTransform(frame, b++, w.cubePos[0]!, w.cubePos[1]!, w.cubePos[2]!, w.cubeQuat);
  } else if (env.spec.prop === 'door') {
    const th = w.doorAngle;
    const dq = [0, 0, Math.sin(th / 2), Math.cos(th / 2)];
    const c = Math.cos(th);
    const s = Math.sin(th);
    const ly = -DOOR.width / 2;
    writeTransform(frame, b++, DOOR.planeX - s * ly, DOOR.hingeY + c * ly, DOOR.bottomZ + DOOR.height / 2, dq);
    const h = w.handlePosition();
    writeTransform(frame, b++, h[0]!, h[1]!, h[2]!, dq);
  }
  if (env.spec.prop !== 'door') writeTransform(frame, b++, env.goal[0]!, env.goal[1]!, env.goal[2]!, [0, 0, 0, 1]);
  return frame;
}

/** A replay source (scene + per-frame transforms at 25 Hz) for a manipulation env. */
export function manipulationReplaySource(env: ManipulationEnv): ReplaySource {
  return { hz: 1 / env.metadata.secondsPerStep, scene: () => manipulationScene(env), transforms: () => manipulationTransforms(env) };
}
