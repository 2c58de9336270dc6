/**
 * Robot manipulation on Rapier (REFERENCES.md §2, Gymnasium-Robotics Fetch conventions): registers
 * `reach`, `push`, `pick-place` (50-step episodes) and `door-open` (100 steps). Their observations are
 * dicts { achieved_goal, desired_goal, observation }; the registered factories hand out the env wrapped
 * in `FlattenObservation` (one box: achieved_goal, desired_goal, observation, in that order), which is
 * what PPO trains on; pass the option `flatten: false` for the dict env. Other options: `reward:
 * 'sparse' | 'dense'` (default sparse, as Fetch), `rapier: 'simd' | 'compat'`.
 *
 * Speed (each control step = IK + 8 physics steps of 5 ms): `reach` through a VecEnv of 8 envs ran
 * ~7,400 steps per CPU second on the project's 2-core machine while it was shared (load ≈ 10; the wall
 * clock gave ~1,100/s there); push ~6,900, pick-place ~7,500, door-open ~5,600 per CPU second.
 */
import { EnvOptionsError, type AnyEnv } from '../../env';
import { registerEnv } from '../../registry';
import { SUCCESS_METRIC } from '../../task-metrics';
import { FlattenObservation } from '../../wrappers';
import { loadRapier, type RapierFlavor } from '../carball/rapier';
import { ManipulationEnv, MANIPULATION_TASKS, TASKS, type ManipulationOptions, type ManipulationTask } from './env';

export { ARM, ArmKinematics, DlsIk, DEFAULT_IK, HAND_DOWN, NUM_ARM_JOINTS, homePosture, servoJoints, matToQuat, type IkSettings } from './arm';
export { ManipulationWorld, TABLE, GRIPPER, CUBE, DOOR, WORKSPACE, PHYSICS_DT, SUBSTEPS, CONTROL_DT, type Prop, type ManipulationWorldSnapshot } from './world';
export { ManipulationEnv, MANIPULATION, MANIPULATION_TASKS, TASKS, manipulationOptionsSchema, quatToEulerXyz, type ManipulationEnvSnapshot, type ManipulationTask, type ManipulationOptions, type TaskSpec } from './env';
export { manipulationScene, manipulationTransforms, manipulationReplaySource } from './scene';
export { SCRIPTED, SCRIPTED_PHASES, SCRIPTED_TASKS, createDemonstrator, doorOpenPolicy, pickPlacePolicy, pushPolicy, runDemonstration, scriptedPolicy, type DemonstrationEnv, type DemonstrationResult, type DemonstratorOptions, type ManipulationObservation, type ScriptedDemonstrator, type ScriptedStep, type ScriptedTask } from './scripted';

/** Builds a manipulation env (the dict env) after loading Rapier. */
export async function createManipulationEnv(task: ManipulationTask, options: ManipulationOptions = {}): Promise<ManipulationEnv> {
  return new ManipulationEnv(await loadRapier(options.rapier as RapierFlavor | undefined), task, options);
}

export function registerManipulationEnvs(): void {
  for (const task of MANIPULATION_TASKS) {
    registerEnv(
      task,
      async (options): Promise<AnyEnv> => {
        const { flatten, ...rest } = options as ManipulationOptions & { flatten?: unknown };
        if (flatten !== undefined && typeof flatten !== 'boolean') throw new EnvOptionsError(task, `option flatten: expected a boolean, got ${JSON.stringify(flatten)}`);
        const env = await createManipulationEnv(task, rest);
        return flatten === false ? env : (new FlattenObservation(env) as unknown as AnyEnv);
      },
      {
        maxEpisodeSteps: TASKS[task].maxEpisodeSteps,
        description: `${TASKS[task].description} Flattened dict observation; option flatten: false for the dict.`,
        taskMetrics: [SUCCESS_METRIC, { name: 'goalDistance', description: task === 'door-open' ? "how far the door's angle falls short of the goal angle at the episode's end" : task === 'reach' ? "the gripper's distance to the goal at the episode's end" : "the object's distance to the goal at the episode's end", better: 'lower', unit: task === 'door-open' ? 'rad' : 'm' }],
      },
    );
  }
}
